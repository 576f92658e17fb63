package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHealthcheckHonoursAddr: without --url, baton healthcheck probes
// /readyz on BATON_ADDR (loopback when it listens on every interface), not
// a fixed :8080.
func TestHealthcheckHonoursAddr(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			hits.Add(1)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, addr := range []string{"127.0.0.1:" + port, ":" + port, "0.0.0.0:" + port} {
		t.Run(addr, func(t *testing.T) {
			before := hits.Load()
			code, out, errOut := runCmd(t, environ{"BATON_ADDR": addr}, "", "healthcheck")
			if code != 0 || strings.TrimSpace(out) != "ok" || hits.Load() != before+1 {
				t.Fatalf("exit %d, stdout %q, stderr %q, %d probes of %s/readyz", code, out, errOut, hits.Load()-before, srv.URL)
			}
		})
	}
	// An explicit --url still wins; a bad configuration is a clear error.
	if code, _, _ := runCmd(t, environ{"BATON_ADDR": "127.0.0.1:1"}, "", "healthcheck", "--url", srv.URL+"/readyz"); code != 0 {
		t.Fatalf("--url: exit %d", code)
	}
	if code, _, errOut := runCmd(t, environ{"BATON_ADDR": "nope"}, "", "healthcheck"); code == 0 || !strings.Contains(errOut, "BATON_ADDR") {
		t.Fatalf("bad BATON_ADDR: exit %d, stderr %q", code, errOut)
	}
}
