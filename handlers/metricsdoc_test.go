package handlers_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// docRow is one row of the table in docs/metrics.md.
type docRow struct {
	typ    string
	labels []string
}

// metricsDoc parses the "| `name` | type | `label`, … | meaning |" rows.
func metricsDoc(t *testing.T) map[string]docRow {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]docRow{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var labels []string
		for _, l := range strings.Split(cells[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				labels = append(labels, l)
			}
		}
		slices.Sort(labels)
		if _, dup := rows[name]; dup {
			t.Errorf("docs/metrics.md lists %s twice", name)
		}
		rows[name] = docRow{typ: strings.TrimSpace(cells[2]), labels: labels}
	}
	return rows
}

// TestEveryMetricIsDocumented scrapes a server whose every metric has a
// series (one event of each kind) and checks that docs/metrics.md has a
// row for each, with its type and its labels, and no row for a baton_
// metric that does not exist.
func TestEveryMetricIsDocumented(t *testing.T) {
	store := gormtest.OpenSQLite(t)
	s := newServer(t, store)
	s.metrics.SetBuildInfo("v0.0.0-test", "abc123")
	s.metrics.WatchDatabase(store) // *gormstore.Store is a handlers.DBStats
	s.metrics.WatchHashQueue(func() float64 { return 0 })
	s.metrics.TokenIssued("password")
	s.metrics.TokenRefused("password", "invalid_grant")
	s.metrics.SessionsEnded("logout", 1)
	do(t, mustRequest(t, "GET", s.URL+"/healthz")) // the HTTP series
	resp, body := do(t, mustRequest(t, "GET", s.URL+"/metrics"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	doc := metricsDoc(t)
	for name, mf := range families {
		row, ok := doc[name]
		if !ok {
			t.Errorf("docs/metrics.md has no row for %s (%s)", name, mf.GetHelp())
			continue
		}
		if want := strings.ToLower(mf.GetType().String()); row.typ != want {
			t.Errorf("docs/metrics.md: %s is a %s, not a %s", name, want, row.typ)
		}
		var labels []string
		for _, l := range mf.Metric[0].Label {
			labels = append(labels, l.GetName())
		}
		if mf.GetType().String() == "SUMMARY" {
			labels = append(labels, "quantile")
		}
		slices.Sort(labels)
		if !slices.Equal(labels, row.labels) {
			t.Errorf("docs/metrics.md: %s has labels %q, the table says %q", name, labels, row.labels)
		}
	}
	for name := range doc {
		if _, ok := families[name]; !ok && strings.HasPrefix(name, "baton_") {
			t.Errorf("docs/metrics.md lists %s, which /metrics does not expose", name)
		}
	}
	if len(families) < 40 {
		t.Fatalf("only %d metric families scraped", len(families))
	}
}

// TestAccessLogFields: one JSON line per request with duration_ms (a
// number of milliseconds) and client_ip, as log pipelines expect, and no
// Go-duration "duration" nor "remote".
func TestAccessLogFields(t *testing.T) {
	logs := &syncBuffer{}
	s := newServerConfig(t, gormtest.OpenSQLite(t), func(*oauth.Options) {}, func(c *handlers.Config) {
		c.Log = slog.New(slog.NewJSONHandler(logs, nil))
	})
	s.post(t, "/oauth2/token", "", url.Values{"grant_type": {"password"}, "client_id": {"nobody"}})
	var line map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, "/oauth2/token") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no access log line for /oauth2/token in %s", logs.String())
	}
	if d, ok := line["duration_ms"].(float64); !ok || d <= 0 || d > 60_000 {
		t.Errorf("duration_ms %v (%T), want a number of milliseconds", line["duration_ms"], line["duration_ms"])
	}
	if ip := line["client_ip"]; ip != "127.0.0.1" {
		t.Errorf("client_ip %v, want 127.0.0.1", ip)
	}
	for _, old := range []string{"duration", "remote"} {
		if _, ok := line[old]; ok {
			t.Errorf("the line still has %q: %v", old, line)
		}
	}
}

// TestInternalRouterSplit: with Internal, the public router answers
// /metrics 404 and the internal one serves it; with InternalAdmin the admin
// API moves too.
func TestInternalRouterSplit(t *testing.T) {
	s := newServerConfig(t, gormtest.OpenSQLite(t), func(*oauth.Options) {}, func(c *handlers.Config) {
		c.Internal, c.InternalAdmin = true, true
	})
	for _, p := range []string{"/metrics", "/admin/v1/sessions"} {
		if resp, _ := do(t, mustRequest(t, "GET", s.URL+p)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", p, resp.StatusCode)
		}
	}
	h, err := handlers.NewInternalRouter(handlers.Config{Tokens: s.svc.Tokens, Authorizations: s.svc.Authorizations, Admin: s.svc.Admin, Rotator: s.ring, AdminScope: "admin",
		Metrics: s.metrics, Log: quiet(), Internal: true, InternalAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]int{"/metrics": 200, "/admin/v1/sessions": 401, "/oauth2/token": 404, "/healthz": 404} {
		rec := httptestRecorder(h, p)
		if rec != want {
			t.Errorf("internal %s: %d, want %d", p, rec, want)
		}
	}
}

func httptestRecorder(h http.Handler, path string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}
