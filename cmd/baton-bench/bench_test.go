package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestBenchRefusesUnboundedAndRemote(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "jwks"}, "refuses to run unbounded"},
		{[]string{"--mode", "jwks", "-d", "1s", "--url", "http://example.com"}, "not loopback"},
		{[]string{"--mode", "nope", "-d", "1s"}, "--mode"},
		{[]string{"--mode", "jwks", "-d", "1s", "-c", "0"}, "--concurrency"},
	} {
		code, _, errOut := runCmd(t, "", tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestBenchAgainstServer runs each mode briefly against a real baton and
// reads the machine-readable line.
func TestBenchAgainstServer(t *testing.T) {
	d := newDeployment(t)
	d.cli(t, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin")
	d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token")
	d.cli(t, secretLine, "client", "add", "--id", "svc", "--secret-stdin", "--grants", "client_credentials")
	base := d.serve(t)
	for _, tt := range []struct{ mode, client string }{
		{"refresh", "app"}, {"password", "app"}, {"client_credentials", "svc"}, {"introspect", "svc"}, {"jwks", "svc"},
	} {
		code, out, errOut := runCmd(t, secretLine+"hunter2hunter2\n", "--url", base, "--mode", tt.mode, "-c", "2", "-n", "20",
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

// benchJSON runs the load tool and returns its machine-readable line.
func benchJSON(t *testing.T, stdin string, args ...string) benchResult {
	t.Helper()
	code, out, errOut := runCmd(t, stdin, args...)
	if code != 0 {
		t.Fatalf("bench %v: %s", args, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res benchResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("bench %v: last line %q: %v", args, lines[len(lines)-1], err)
	}
	return res
}

// addBenchUsers creates name-1 … name-n with the password hunter2hunter2.
func addBenchUsers(t *testing.T, d *deployment, name string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		d.cli(t, "hunter2hunter2\n", "user", "add", "--username", fmt.Sprintf("%s-%d", name, i), "--password-stdin")
	}
}

// TestBenchCodeFlow runs the codeflow mode (authorize, login page, code,
// token) against a real baton: every flow completes, each one started a
// session of its own, and the tool reports a wrong password as errors.
func TestBenchCodeFlow(t *testing.T) {
	d := newDeployment(t)
	addBenchUsers(t, d, "alice", 2)
	d.cli(t, "", "client", "add", "--id", "web", "--public", "--trusted", "--grants", "authorization_code,refresh_token",
		"--scopes", "openid read", "--redirect-uri", "http://127.0.0.1/cb")
	d.cli(t, "", "client", "add", "--id", "third", "--public", "--grants", "authorization_code",
		"--scopes", "read", "--redirect-uri", "http://127.0.0.1/third")
	base := d.serve(t)

	res := benchJSON(t, "hunter2hunter2\n", "--url", base, "--mode", "codeflow", "-c", "2", "-n", "8",
		"--client", "web", "--username", "alice", "--users", "2", "--password-stdin")
	if res.Requests != 8 || len(res.Errors) != 0 || res.RPS <= 0 || res.P99ms < res.P50ms {
		t.Fatalf("codeflow: %+v", res)
	}
	for _, u := range []string{"alice-1", "alice-2"} {
		out := d.cli(t, "", "sessions", "list", "--username", u)
		if n := strings.Count(out, "web"); n != 4 {
			t.Errorf("%s has %d sessions of web after 8 flows over 2 users, want 4:\n%s", u, n, out)
		}
	}

	// A client that is not trusted: the consent page is allowed once per
	// user, then remembered.
	res = benchJSON(t, "hunter2hunter2\n", "--url", base, "--mode", "codeflow", "-c", "1", "-n", "2",
		"--client", "third", "--redirect-uri", "http://127.0.0.1/third", "--username", "alice", "--users", "1", "--password-stdin")
	if res.Requests != 2 || len(res.Errors) != 0 {
		t.Fatalf("codeflow with consent: %+v", res)
	}

	// Failures are counted, by status.
	res = benchJSON(t, "wrong-password\n", "--url", base, "--mode", "codeflow", "-c", "1", "-n", "2",
		"--client", "web", "--username", "alice", "--users", "2", "--password-stdin")
	if res.Requests != 2 || res.Errors["400"] != 2 {
		t.Fatalf("codeflow with a wrong password: %+v", res)
	}
}

// TestBenchLoginsSpreadOverUsers: the login throttle lets one username have
// only a few attempts in flight, so eight workers logging in as one user
// get 429s; --users gives each worker a user of its own, and no errors.
func TestBenchLoginsSpreadOverUsers(t *testing.T) {
	d := newDeployment(t)
	addBenchUsers(t, d, "bob", 8)
	d.cli(t, "hunter2hunter2\n", "user", "add", "--username", "solo", "--password-stdin")
	d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password")
	base := d.serve(t)

	res := benchJSON(t, "hunter2hunter2\n", "--url", base, "--mode", "password", "-c", "8", "-n", "16",
		"--client", "app", "--username", "bob", "--users", "8", "--password-stdin")
	if res.Requests != 16 || len(res.Errors) != 0 {
		t.Fatalf("password, 8 workers over 8 users: %+v", res)
	}
	res = benchJSON(t, "hunter2hunter2\n", "--url", base, "--mode", "password", "-c", "8", "-n", "16",
		"--client", "app", "--username", "solo", "--password-stdin")
	if res.Requests != 16 || res.Errors["429"] == 0 {
		t.Fatalf("password, 8 workers as one user: %+v, want 429s", res)
	}
}

// TestBenchLetsLoginsFinish: a login cut off by the deadline keeps its
// throttle reservation on the client address (the server cannot tell it
// was not a guess), and twenty of them throttle the address for an hour.
// So the login modes let the logins in flight at the deadline finish:
// many short runs in a row meet no 429.
func TestBenchLetsLoginsFinish(t *testing.T) {
	d := newDeployment(t)
	addBenchUsers(t, d, "carol", 4)
	d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password")
	d.cli(t, "", "client", "add", "--id", "web", "--public", "--trusted", "--grants", "authorization_code",
		"--redirect-uri", "http://127.0.0.1/cb")
	base := d.serve(t)
	for run := range 8 { // up to 4 logins in flight at each deadline: 32 > 20
		mode, client := "password", "app"
		if run%2 == 1 {
			mode, client = "codeflow", "web"
		}
		res := benchJSON(t, "hunter2hunter2\n", "--url", base, "--mode", mode, "-c", "4", "-d", "150ms",
			"--client", client, "--username", "carol", "--users", "4", "--password-stdin")
		if len(res.Errors) != 0 || res.Requests == 0 {
			t.Fatalf("run %d, %s: %+v", run, mode, res)
		}
	}
}

// TestFormPostWritesWhatNetHTTPWrites: the refresh mode's request, its head
// written once per body length, is byte for byte what net/http writes.
func TestFormPostWritesWhatNetHTTPWrites(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080/prefix/")
	l := &loader{cmd: &benchCmd{Client: "app"}, base: base}
	post := &formPost{req: l.post("/oauth2/token", nil, false)}
	for _, rt := range []string{"first-token", "second-toke", "a longer token/with+escapes"} {
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {rt}}
		var want, got bytes.Buffer
		if err := l.post("/oauth2/token", form, false).Write(&want); err != nil {
			t.Fatal(err)
		}
		if err := post.write(&got, []byte(form.Encode())); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("token %q: wrote\n%q\nwant\n%q", rt, got.String(), want.String())
		}
	}
}
