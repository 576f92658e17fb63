package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/configs"
)

// Documented bound on the resident set of `baton serve` during a login
// burst (docs/PERFORMANCE.md, "Memory"): the idle resident set, plus
// headroom for requests and the collector's slack (memoryBase), plus every
// hash slot's argon2id memory and one more (a hash allocating while the
// collector frees the last).
const (
	burstHeadroomMiB = memoryBase >> 20
	burstCeilingMiB  = 100 // the bound with the default parameters
	settledSlackMiB  = 12  // how near idle the resident set comes back
)

// procMemory reads VmHWM and VmRSS (KiB) of a process.
func procMemory(t *testing.T, pid int) (hwm, rss int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			hwm, _ = strconv.Atoi(f[1])
		case "VmRSS:":
			rss, _ = strconv.Atoi(f[1])
		}
	}
	return hwm, rss
}

// startupMemory is what `baton serve` logs at start about its memory.
type startupMemory struct {
	LimitBytes int64 `json:"memory_limit_bytes"`
	Slots      int   `json:"hash_slots"`
	HashKiB    int64 `json:"hash_memory_kib"`
}

func readStartupMemory(t *testing.T, logs string) startupMemory {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var m struct {
			Msg string `json:"msg"`
			startupMemory
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "memory limit" {
			return m.startupMemory
		}
	}
	t.Errorf("no \"memory limit\" line in the start-up log:\n%s", logs)
	return startupMemory{Slots: 1, HashKiB: 19 * 1024} // the default, to report figures all the same
}

// TestLoginBurstMemory fires 64 simultaneous password logins (64 users,
// default argon2id cost, each from its own forwarded address so that the
// per-address throttle does not refuse them) at a real `baton serve` on
// SQLite. Logins the hash queue refuses (503) are retried after
// Retry-After, as a client would. The peak resident set stays within the
// documented formula and under 100 MiB, and the resident set comes back
// near idle within seconds of the last login.
func TestLoginBurstMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const users = 64
	bin := buildBaton(t)
	e := environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "baton.db"), "BATON_KEK": randomKEK(t),
		"BATON_LOG_LEVEL": "info", "BATON_ISSUER": "http://localhost:8080", "BATON_TRUSTED_PROXIES": "127.0.0.1"}
	d := &deployment{env: e}
	d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token")
	for i := range users {
		d.cli(t, "hunter2hunter2\n", "user", "add", "--username", fmt.Sprintf("user%02d", i), "--password-stdin")
	}
	p := startProcess(t, bin, e)
	pid := p.cmd.Process.Pid
	mem := readStartupMemory(t, p.logs.String())

	// One login first, so that idle includes what any first request sets
	// up (connections, caches); then wait for the process to settle.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	login := func(i int) (int, time.Duration, error) {
		req, _ := http.NewRequest("POST", p.base+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"password"},
			"username": {fmt.Sprintf("user%02d", i)}, "password": {"hunter2hunter2"}, "client_id": {"app"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.1.%d.%d", i/200, i%200+1))
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return resp.StatusCode, time.Duration(secs) * time.Second, nil
	}
	if status, _, err := login(0); err != nil || status != http.StatusOK {
		t.Fatalf("first login: %d %v", status, err)
	}
	// Idle: the least resident set over a little more than the interval
	// at which memory is returned after hashing.
	idleHWM, idleRSS := 0, 1<<30
	for deadline := time.Now().Add(returnMemoryEvery + time.Second); time.Now().Before(deadline); {
		hwm, rss := procMemory(t, pid)
		idleHWM, idleRSS = hwm, min(idleRSS, rss)
		time.Sleep(200 * time.Millisecond) // polling /proc: memory has no event to wait on
	}

	start := make(chan struct{})
	statuses := make([]int, users)
	errs := make([]error, users)
	refused := make([]int, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			deadline := time.Now().Add(2 * time.Minute)
			for {
				status, after, err := login(i)
				statuses[i], errs[i] = status, err
				if err != nil || status != http.StatusServiceUnavailable || time.Now().After(deadline) {
					return
				}
				refused[i]++
				time.Sleep(after) // the server's Retry-After, as a client would
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	burstHWM, burstRSS := procMemory(t, pid)
	retries := 0
	for i := range users {
		if errs[i] != nil || statuses[i] != http.StatusOK {
			t.Fatalf("login %d: status %d, %v", i, statuses[i], errs[i])
		}
		retries += refused[i]
	}
	_, settledRSS := settle(t, pid, idleRSS+settledSlackMiB*1024, 10*time.Second)
	settledIn := time.Since(began) - took

	formula := idleRSS/1024 + burstHeadroomMiB + (mem.Slots+1)*int(mem.HashKiB/1024)
	t.Logf("limit %d MiB, %d hash slots of %d MiB; %d logins in %v (%d refused 503 and retried)",
		mem.LimitBytes>>20, mem.Slots, mem.HashKiB/1024, users, took.Round(time.Millisecond), retries)
	t.Logf("idle: VmHWM %d MiB VmRSS %d MiB; after the burst: VmHWM %d MiB VmRSS %d MiB; %v later VmRSS %d MiB; formula %d MiB",
		idleHWM/1024, idleRSS/1024, burstHWM/1024, burstRSS/1024, settledIn.Round(100*time.Millisecond), settledRSS/1024, formula)
	if burstHWM/1024 > formula {
		t.Errorf("VmHWM %d MiB exceeds idle %d + %d MiB headroom + (%d slots + 1) × %d = %d MiB",
			burstHWM/1024, idleRSS/1024, burstHeadroomMiB, mem.Slots, mem.HashKiB/1024, formula)
	}
	if burstHWM/1024 >= burstCeilingMiB {
		t.Errorf("VmHWM %d MiB, want under %d MiB", burstHWM/1024, burstCeilingMiB)
	}
	if settledRSS > idleRSS+settledSlackMiB*1024 {
		t.Errorf("VmRSS %d MiB 10 s after the burst, want within %d MiB of idle %d MiB",
			settledRSS/1024, settledSlackMiB, idleRSS/1024)
	}
}

// settle polls the process's memory until its resident set is at most
// below KiB or the timeout passes, and returns the last figures.
func settle(t *testing.T, pid, below int, timeout time.Duration) (hwm, rss int) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		hwm, rss = procMemory(t, pid)
		if rss <= below || time.Now().After(deadline) {
			return hwm, rss
		}
		time.Sleep(200 * time.Millisecond) // polling /proc: memory has no event to wait on
	}
}

// TestMemoryLimitTooSmall: a stated limit that does not hold baton and one
// password hash stops start-up with a message naming the variable; one
// that does is accepted, and GOMEMLIMIT is honoured as the Go limit.
func TestMemoryLimitTooSmall(t *testing.T) {
	e := sqliteEnv(t.TempDir())
	e["BATON_MEMORY_LIMIT"] = "64MiB"
	code, _, errOut := runCmd(t, e, "", "serve")
	if code == 0 || !strings.Contains(errOut, "BATON_MEMORY_LIMIT: 64 MiB does not hold baton and one password hash: it needs at least 94 MiB") {
		t.Fatalf("serve under 64MiB: exit %d, %s", code, errOut)
	}

	cfg := func(limit string) configs.Config { c := configs.Defaults(); c.MemoryLimit = limit; return c }
	p, err := planMemory(cfg("128MiB"), environ{}.get)
	if err != nil || p.limit != (128-24-19)<<20 || p.hashMemory != (128-24-19-32)<<20 {
		t.Fatalf("128MiB: %+v, %v", p, err)
	}
	prev := debug.SetMemoryLimit(80 << 20)
	defer debug.SetMemoryLimit(prev)
	p, err = planMemory(cfg(""), environ{"GOMEMLIMIT": "80MiB"}.get)
	if err != nil || p.source != "GOMEMLIMIT" || p.limit != 80<<20 || p.hashMemory != 48<<20 {
		t.Fatalf("GOMEMLIMIT=80MiB: %+v, %v", p, err)
	}
	debug.SetMemoryLimit(50 << 20)
	if _, err := planMemory(cfg(""), environ{"GOMEMLIMIT": "50MiB"}.get); err == nil || !strings.Contains(err.Error(), "GOMEMLIMIT: 50 MiB") {
		t.Fatalf("GOMEMLIMIT=50MiB: %v", err)
	}
}
