package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
