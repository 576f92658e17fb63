package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// get returns a GET's status and body, with an optional bearer token.
func get(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeInternalListener runs `baton serve` with BATON_INTERNAL_ADDR on
// real listeners: /metrics answers there and 404 on BATON_ADDR; with
// BATON_INTERNAL_ADMIN the admin API moves too (404 on the public listener,
// working with an admin token on the internal one); /healthz and /readyz
// stay public. Without it, everything is on BATON_ADDR as before.
func TestServeInternalListener(t *testing.T) {
	for name, dbURL := range backendsURL(t) {
		t.Run(name, func(t *testing.T) {
			for _, tt := range []struct {
				name          string
				internal      bool
				internalAdmin bool
			}{
				{"default", false, false},
				{"metrics", true, false},
				{"metrics and admin", true, true},
			} {
				t.Run(tt.name, func(t *testing.T) {
					e := environ{"BATON_DATABASE_URL": dbURL(t), "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
					internal := ""
					if tt.internal {
						internal = "http://" + freeAddr(t)
						e["BATON_INTERNAL_ADDR"] = strings.TrimPrefix(internal, "http://")
					}
					if tt.internalAdmin {
						e["BATON_INTERNAL_ADMIN"] = "true"
					}
					d := &deployment{env: e}
					d.cli(t, secretLine, "client", "add", "--id", "ops", "--secret-stdin", "--grants", "client_credentials", "--scopes", "admin")
					d.base = startServe(t, e)
					token := clientToken(t, d.base, "ops")

					metricsAt, adminAt := d.base, d.base
					if tt.internal {
						metricsAt = internal
						if status, _ := get(t, d.base+"/metrics", ""); status != http.StatusNotFound {
							t.Errorf("public /metrics: %d, want 404", status)
						}
					}
					if tt.internalAdmin {
						adminAt = internal
						if status, _ := get(t, d.base+"/admin/v1/sessions?username=nobody", token); status != http.StatusNotFound {
							t.Errorf("public admin API: %d, want 404", status)
						}
					} else if tt.internal {
						if status, _ := get(t, internal+"/admin/v1/sessions?username=nobody", token); status != http.StatusNotFound {
							t.Errorf("internal admin API without BATON_INTERNAL_ADMIN: %d, want 404", status)
						}
					}
					status, body := get(t, metricsAt+"/metrics", "")
					if status != http.StatusOK {
						t.Fatalf("%s/metrics: %d", metricsAt, status)
					}
					for _, want := range []string{`baton_build_info{commit="unknown",go_version="go`, "baton_db_open_connections ", "baton_db_max_open_connections ",
						`baton_tokens_issued_total{grant_type="client_credentials"} 1`} {
						if !strings.Contains(body, want) {
							t.Errorf("%s/metrics lacks %q", metricsAt, want)
						}
					}
					if status, _ := get(t, adminAt+"/admin/v1/sessions?username=nobody", ""); status != http.StatusUnauthorized {
						t.Errorf("admin API without a token at %s: %d, want 401", adminAt, status)
					}
					// A mounted admin API checks the token, then the parameters.
					if status, body := get(t, adminAt+"/admin/v1/sessions?username=nobody&limit=0", token); status != http.StatusBadRequest || !strings.Contains(body, "limit must be") {
						t.Errorf("admin API at %s: %d %s, want 400 for limit=0", adminAt, status, body)
					}
					for _, p := range []string{"/healthz", "/readyz"} {
						if status, _ := get(t, d.base+p, ""); status != http.StatusOK {
							t.Errorf("public %s: %d", p, status)
						}
					}
				})
			}
		})
	}
}
