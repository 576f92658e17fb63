package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM to `baton serve` while 20 logins (real
// argon2id cost) are in flight: every one completes with 200 and the process
// exits 0. The logins are spread over four users, as a user may have only a
// few attempts in flight (the login throttle counts each before hashing).
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBaton(t)
	e := environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "baton.db"), "BATON_KEK": randomKEK(t),
		"BATON_LOG_LEVEL": "warn", "BATON_ISSUER": "http://localhost:8080"}
	d := &deployment{env: e}
	const users = 4
	for u := range users {
		d.cli(t, "hunter2hunter2\n", "user", "add", "--username", fmt.Sprintf("user%d", u), "--password-stdin")
	}
	d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token")
	p := startProcess(t, bin, e)

	const n = 20
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	var dialed atomic.Int32
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			dialed.Add(1) // one connection per request: keep-alives are off
			return c, err
		}}}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.PostForm(p.base+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {fmt.Sprintf("user%d", i%users)}, "password": {"hunter2hunter2"}, "client_id": {"app"}})
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	// Until every request is in the server: it has hashed, or holds or
	// waits for a hash slot (they hash two at a time).
	waitUntil(t, "every login reached the hasher", 30*time.Second, func() bool { return hashesStarted(t, p.base) >= n })
	if got := dialed.Load(); got != n {
		t.Fatalf("%d connections for %d requests", got, n)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || statuses[i] != http.StatusOK {
			t.Fatalf("request %d: status %d, %v: not completed", i, statuses[i], errs[i])
		}
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	if _, err := http.Get(p.base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

// hashesStarted reads from /metrics how many hashes took a slot
// (baton_hash_wait_seconds_count) or wait for one (baton_hash_queue_depth).
func hashesStarted(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		name, value, _ := strings.Cut(line, " ")
		if name == "baton_hash_wait_seconds_count" || name == "baton_hash_queue_depth" {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			n += int(v)
		}
	}
	return n
}
