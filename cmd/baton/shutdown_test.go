package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
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
	for deadline := time.Now().Add(10 * time.Second); dialed.Load() < n && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // until every request has its connection
	}
	time.Sleep(100 * time.Millisecond) // and has been sent; they hash two at a time
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
