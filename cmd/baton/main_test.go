package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// environ is a fake process environment.
type environ map[string]string

func (e environ) get(k string) string { return e[k] }

// sqliteEnv is the environment of a baton on a SQLite file in dir.
func sqliteEnv(dir string) environ {
	return environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(dir, "baton.db"), "BATON_LOG_LEVEL": "warn"}
}

// runCmd runs one command and returns its exit code and output.
func runCmd(t *testing.T, e environ, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runCmdAt(t, time.Now, e, stdin, args...)
}

// runCmdAt is runCmd with the clock now.
func runCmdAt(t *testing.T, now func() time.Time, e environ, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runAt(t.Context(), now, args, e.get, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `baton serve` in the background until the test ends.
func startServe(t *testing.T, e environ) string {
	t.Helper()
	base, stop := startServeStoppable(t, e)
	t.Cleanup(stop)
	return base
}

// startServeStoppable runs `baton serve` in the background; stop ends it
// (as SIGTERM would) and checks that it exited cleanly.
func startServeStoppable(t *testing.T, e environ) (string, func()) {
	t.Helper()
	base, stop, _ := launch(t, e)
	return base, stop
}

// launch runs `baton serve` in the background and gives access to its logs.
func launch(t *testing.T, e environ) (string, func(), *syncWriter) {
	t.Helper()
	addr := freeAddr(t)
	env := environ{}
	for k, v := range e {
		env[k] = v
	}
	env["BATON_ADDR"] = addr
	if env["BATON_ISSUER"] == "" {
		env["BATON_ISSUER"] = "http://" + addr
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	errOut := &syncWriter{w: &bytes.Buffer{}}
	go func() { done <- run(ctx, []string{"serve"}, env.get, strings.NewReader(""), &bytes.Buffer{}, errOut) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errOut.w)
		}
	}
	base := "http://" + addr
	if !ready(base, done) {
		cancel()
		t.Fatalf("serve did not become ready: %s", errOut.w)
	}
	return base, stop, errOut
}

// waitUntil polls cond (the state of other goroutines, or of a process
// the test started) until it holds, failing the test after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
	}
}

// ready polls /readyz until it answers 200, the server exits or 20 s pass.
func ready(base string, done <-chan int) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		select {
		case <-done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	if !ready(base, nil) {
		t.Fatalf("%s did not become ready", base)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func postForm(t *testing.T, u string, v url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// TestServeEndToEnd is the README walk-through: a fresh SQLite database,
// serve, user add, client add, log in, refresh twice, replay an old token.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	e := sqliteEnv(dir)
	e["BATON_LOG_LEVEL"] = "debug" // the most a log could ever say
	base, stop, logs := launch(t, e)
	defer stop()
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	if code, _, errOut := runCmd(t, e, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, e, "", "client", "add", "--id", "cli", "--public",
		"--grants", "password,refresh_token", "--scopes", "read write"); code != 0 {
		t.Fatalf("client add: %d %s", code, errOut)
	}
	status, tok := postForm(t, base+"/oauth2/token", url.Values{"grant_type": {"password"},
		"username": {"alice"}, "password": {"hunter2hunter2"}, "client_id": {"cli"}})
	if status != 200 {
		t.Fatalf("login: %d %v", status, tok)
	}
	set, err := jwk.Fetch(t.Context(), base+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse([]byte(tok["access_token"].(string)), jwt.WithKeySet(set),
		jwt.WithIssuer(base), jwt.WithAudience(base), jwt.WithValidate(true)); err != nil {
		t.Fatalf("access token does not verify against the JWKS: %v", err)
	}
	refresh := func(rt string) (int, map[string]any) {
		return postForm(t, base+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"cli"}})
	}
	tokens := []string{tok["refresh_token"].(string)}
	for range 2 {
		status, next := refresh(tokens[len(tokens)-1])
		if status != 200 {
			t.Fatalf("refresh: %d %v", status, next)
		}
		tokens = append(tokens, next["refresh_token"].(string))
	}
	assertNotStored(t, dir, tokens)
	if status, body := refresh(tokens[0]); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", status, body)
	}
	if status, body := refresh(tokens[2]); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("the session must be dead after reuse: %d %v", status, body)
	}
	kek, err := os.ReadFile(filepath.Join(dir, "baton.db.kek"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := append([]string{"hunter2hunter2", tok["access_token"].(string), strings.TrimSpace(string(kek))}, tokens...)
	assertNoSecrets(t, logs.String(), secrets)
}

// assertNoSecrets fails if any secret the test used appears in the logs.
func assertNoSecrets(t *testing.T, logs string, secrets []string) {
	t.Helper()
	if len(logs) == 0 {
		t.Fatal("no logs to scan")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Fatalf("a secret (%.6s…) appears in the logs", s)
		}
	}
}

// assertNotStored scans every file of the database for the refresh tokens
// handed out: they (and their successors) must never be stored in plaintext.
func assertNotStored(t *testing.T, dir string, tokens []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "baton.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			if bytes.Contains(b, []byte(tok)) {
				t.Fatalf("%s holds a refresh token in plaintext", filepath.Base(f))
			}
		}
	}
}

// TestCommandErrors: bad input gives one line on stderr, a non-zero exit,
// and nothing written.
func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	e := sqliteEnv(dir)
	tests := []struct {
		name  string
		env   environ
		stdin string
		args  []string
		want  string
	}{
		{"unknown command", e, "", []string{"frobnicate"}, "unexpected argument"},
		{"no password flag", e, "pw\n", []string{"user", "add", "--username", "bob"}, "--password-stdin"},
		{"empty password", e, "", []string{"user", "add", "--username", "bob", "--password-stdin"}, "no password on stdin"},
		{"short password", e, "short\n", []string{"user", "add", "--username", "bob", "--password-stdin"}, "password must be"},
		{"username with space", e, "longenough\n", []string{"user", "add", "--username", "b ob", "--password-stdin"}, "username"},
		{"client both kinds", e, "s3cret-s3cret-s3cret\n", []string{"client", "add", "--id", "c", "--public", "--secret-stdin", "--grants", "password"}, "exactly one of"},
		{"client neither kind", e, "", []string{"client", "add", "--id", "c", "--grants", "password"}, "exactly one of"},
		{"client bad grant", e, "", []string{"client", "add", "--id", "c", "--public", "--grants", "implicit"}, "unknown grant"},
		{"public client_credentials", e, "", []string{"client", "add", "--id", "c", "--public", "--grants", "client_credentials"}, "public client"},
		{"short client secret", e, "short\n", []string{"client", "add", "--id", "c", "--secret-stdin", "--grants", "client_credentials"}, "at least"},
		{"bad scope", e, "", []string{"client", "add", "--id", "c", "--public", "--grants", "password", "--scopes", `a"b`}, "invalid scope"},
		{"bad config", environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(dir, "baton.db"), "BATON_ACCESS_TOKEN_TTL": "soon"}, "", []string{"migrate"}, "BATON_ACCESS_TOKEN_TTL"},
		{"bad database url", environ{"BATON_DATABASE_URL": "mysql://x"}, "", []string{"migrate"}, "BATON_DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.env, tt.stdin, tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure (stdout %q)", out)
			}
			if strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr %q, want one line containing %q", errOut, tt.want)
			}
		})
	}
	// Nothing was created by the failed commands.
	if code, _, errOut := runCmd(t, e, "longenough\n", "user", "add", "--username", "bob", "--password-stdin"); code != 0 {
		t.Fatalf("user add after failures: %s", errOut)
	}
	if code, _, errOut := runCmd(t, e, "", "client", "add", "--id", "c", "--public", "--grants", "password"); code != 0 {
		t.Fatalf("client add after failures: %s", errOut)
	}
	code, _, errOut := runCmd(t, e, "longenough\n", "user", "add", "--username", "bob", "--password-stdin")
	if code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate user: %d %q", code, errOut)
	}
}

func TestMigrateIsRepeatable(t *testing.T) {
	e := sqliteEnv(t.TempDir())
	for i := range 2 {
		if code, out, errOut := runCmd(t, e, "", "migrate"); code != 0 {
			t.Fatalf("migrate #%d: %d %s %s", i, code, out, errOut)
		}
	}
}

// TestLocalKEKBesideDatabase: with SQLite and no BATON_KEK, the generated
// KEK is <database file>.kek in the database's directory, however the URL
// spells the path, and the database and the KEK are both 0600.
func TestLocalKEKBesideDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("sub", 0o700); err != nil {
		t.Fatal(err)
	}
	for url, file := range map[string]string{
		"sqlite:a.db":                            "a.db",
		"sqlite:sub/b.db":                        "sub/b.db",
		"sqlite://sub/c.db":                      "sub/c.db",
		"sqlite://" + filepath.Join(dir, "d.db"): filepath.Join(dir, "d.db"),
		"sqlite:sub/e.db?synchronous=full":       "sub/e.db",
	} {
		e := environ{"BATON_DATABASE_URL": url, "BATON_LOG_LEVEL": "error"}
		if code, out, errOut := runCmd(t, e, "", "keys", "list"); code != 0 {
			t.Fatalf("%s: keys list: %d %s %s", url, code, out, errOut)
		}
		for _, f := range []string{file, file + ".kek"} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", url, err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %o, want 600", url, f, fi.Mode().Perm())
			}
		}
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runCmd(t, environ{}, "", "--help")
	if code != 0 || !strings.Contains(out, "serve") {
		t.Fatalf("help: %d %q", code, out)
	}
}
