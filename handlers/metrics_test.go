package handlers_test

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// TestMetricsCountTheLifecycle scripts login → refresh → grace replay →
// refresh → replay after the window (reuse) → login → revoke and checks
// that each counter moved by exactly the right amount.
func TestMetricsCountTheLifecycle(t *testing.T) {
	s := sqliteServer(t)
	refresh := func(rt string) (int, string) {
		status, body := s.post(t, "/oauth2/token", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}})
		next, _ := body["refresh_token"].(string)
		return status, next
	}
	t0 := s.login(t, "spa", "").RefreshToken
	_, t1 := refresh(t0)
	if status, again := refresh(t0); status != 200 || again != t1 {
		t.Fatalf("grace replay: %d", status)
	}
	_, _ = refresh(t1)
	if status, _ := refresh(t0); status != 400 {
		t.Fatalf("reuse: %d", status)
	}
	other := s.login(t, "spa", "").RefreshToken
	if status, _ := s.post(t, "/oauth2/revoke", "", url.Values{"token": {other}, "client_id": {"spa"}}); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	resp, body := do(t, mustRequest(t, "GET", s.URL+"/metrics"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	text := string(body)
	for _, want := range []string{
		`baton_tokens_issued_total{grant_type="password"} 2`,
		`baton_tokens_issued_total{grant_type="refresh_token"} 3`,
		`baton_token_errors_total{error="invalid_grant",grant_type="refresh_token"} 1`,
		`baton_refresh_rotations_total 2`,
		`baton_refresh_grace_replays_total 1`,
		`baton_refresh_reuse_detections_total 1`,
		`baton_sessions_ended_total{reason="reuse_detected"} 1`,
		`baton_sessions_ended_total{reason="logout"} 1`,
		`baton_http_requests_total{code="200",method="POST",route="/oauth2/revoke"} 1`,
		`baton_http_request_duration_seconds_count{route="/oauth2/token"} 6`,
		`baton_active_key_age_seconds `,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// syncBuffer is a log sink that tests read after the requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// rawRequest writes one HTTP/1.1 request line as given (the method and path
// unchecked by any client library) and returns the response status.
func rawRequest(t *testing.T, addr, method, path string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n\r\n", method, path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metricsText returns /metrics and the number of baton_http series in it.
func metricsText(t *testing.T, s *server) (string, int) {
	t.Helper()
	resp, body := do(t, mustRequest(t, "GET", s.URL+"/metrics"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	series := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "baton_http_") {
			series++
		}
	}
	return string(body), series
}

// TestMadeUpMethodsDoNotGrowMetrics sends 300 requests with distinct 8 KB
// made-up methods and 8 KB random paths: /metrics keeps its series and
// its size, and no log line carries the method or the path.
func TestMadeUpMethodsDoNotGrowMetrics(t *testing.T) {
	logs := &syncBuffer{}
	s := newServerConfig(t, gormtest.OpenSQLite(t), func(*oauth.Options) {}, func(c *handlers.Config) {
		c.Log = slog.New(slog.NewJSONHandler(logs, nil))
	})
	addr := strings.TrimPrefix(s.URL, "http://")
	// One request of each kind first, so that their series exist.
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "BREW"} {
		rawRequest(t, addr, m, "/healthz")
		rawRequest(t, addr, m, "/nowhere")
		rawRequest(t, addr, m, "/oauth2/token")
	}
	metricsText(t, s)
	before, seriesBefore := metricsText(t, s)
	for i := range 300 {
		method := fmt.Sprintf("M%04d%s", i, strings.Repeat("X", 8<<10))
		path := fmt.Sprintf("/%04d/%s", i, strings.Repeat("p", 8<<10))
		if status := rawRequest(t, addr, method, path); status < 400 || status >= 500 {
			t.Fatalf("made-up method: status %d", status)
		}
		if status := rawRequest(t, addr, method, "/oauth2/token"); status < 400 || status >= 500 {
			t.Fatalf("made-up method on a route: status %d", status)
		}
	}
	after, seriesAfter := metricsText(t, s)
	// The counters' values grow by a few digits; the series stay.
	if seriesAfter != seriesBefore || len(after) > len(before)+1024 {
		t.Fatalf("/metrics grew from %d bytes (%d baton_http lines) to %d bytes (%d lines)",
			len(before), seriesBefore, len(after), seriesAfter)
	}
	if strings.Contains(after, "XXXXXXXX") || strings.Contains(after, "pppppppp") {
		t.Fatal("/metrics carries a made-up method or path")
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 1024 || strings.Contains(line, "XXXXXXXX") || strings.Contains(line, "pppppppp") {
			t.Fatalf("log line of %d bytes carries the method or path: %.200s…", len(line), line)
		}
	}
}

// TestStandardMethodsKeepTheirLabel: a request with a standard method is
// counted under its name, a made-up one under "other".
func TestStandardMethodsKeepTheirLabel(t *testing.T) {
	s := sqliteServer(t)
	addr := strings.TrimPrefix(s.URL, "http://")
	rawRequest(t, addr, "DELETE", "/healthz")
	rawRequest(t, addr, "BREW", "/healthz")
	text, _ := metricsText(t, s)
	for _, want := range []string{
		`baton_http_requests_total{code="405",method="DELETE",route="unmatched"} 1`,
		`method="other"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, `method="BREW"`) {
		t.Error("/metrics labels a made-up method by its name")
	}
}
