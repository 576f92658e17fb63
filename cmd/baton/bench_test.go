package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchRefusesUnboundedAndRemote(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--mode", "jwks"}, "refuses to run unbounded"},
		{[]string{"bench", "--mode", "jwks", "-d", "1s", "--url", "http://example.com"}, "not loopback"},
		{[]string{"bench", "--mode", "nope", "-d", "1s"}, "--mode"},
		{[]string{"bench", "--mode", "jwks", "-d", "1s", "-c", "0"}, "--concurrency"},
	} {
		code, _, errOut := runCmd(t, environ{}, "", tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestBenchAgainstServer runs each mode briefly against a real baton and
// reads the machine-readable line.
func TestBenchAgainstServer(t *testing.T) {
	e := environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "baton.db"), "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
	d := &deployment{env: e}
	d.cli(t, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin")
	d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token")
	d.cli(t, secretLine, "client", "add", "--id", "svc", "--secret-stdin", "--grants", "client_credentials")
	base := startServe(t, e)
	for _, tt := range []struct{ mode, client string }{
		{"refresh", "app"}, {"password", "app"}, {"client_credentials", "svc"}, {"introspect", "svc"}, {"jwks", "svc"},
	} {
		code, out, errOut := runCmd(t, e, secretLine+"hunter2hunter2\n", "bench", "--url", base, "--mode", tt.mode, "-c", "2", "-n", "20",
			"--client", tt.client, "--username", "alice", "--secret-stdin", "--password-stdin", "--baseline")
		if code != 0 {
			t.Fatalf("%s: %s", tt.mode, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var res benchResult
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatalf("%s: last line %q: %v", tt.mode, lines[len(lines)-1], err)
		}
		if res.Requests != 20 || len(res.Errors) != 0 || res.RPS <= 0 || res.P99ms < res.P50ms {
			t.Fatalf("%s: %+v", tt.mode, res)
		}
	}
}
