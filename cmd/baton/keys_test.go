package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

func randomKEK(t *testing.T) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// fetchJWKS returns the published key set of a running server.
func fetchJWKS(t *testing.T, base string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// verifyWith checks a token's signature against a key set; it returns the kid.
func verifyWith(token string, set jose.JSONWebKeySet) (string, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return "", err
	}
	kid := jws.Signatures[0].Header.KeyID
	ks := set.Key(kid)
	if len(ks) == 0 {
		return kid, fmt.Errorf("kid %s is not in the JWKS", kid)
	}
	_, err = jws.Verify(ks[0])
	return kid, err
}

func storedKeys(t *testing.T, dbURL string) []models.SigningKey {
	t.Helper()
	s, err := gormstore.Open(t.Context(), dbURL, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ks, err := s.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestRestartKeepsKeys: a restart on the same database keeps the keys and
// earlier tokens verify; a restart with a wrong KEK fails clearly and
// changes nothing in the database.
func TestRestartKeepsKeys(t *testing.T) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "baton.db") }},
		{"Postgres", func(t *testing.T) string { return gormtest.FreshSchema(t, gormtest.PostgresURL(t)) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			dbURL := b.url(t)
			e := environ{"BATON_DATABASE_URL": dbURL, "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
			if code, _, errOut := runCmd(t, e, secretLine, "client", "add", "--id", "worker", "--secret-stdin", "--grants", "client_credentials"); code != 0 {
				t.Fatal(errOut)
			}
			var token string
			func() {
				base, stop := startServeStoppable(t, e)
				defer stop()
				token = clientToken(t, base, "worker")
			}()
			before := storedKeys(t, dbURL)

			base, stop := startServeStoppable(t, e)
			if _, err := verifyWith(token, fetchJWKS(t, base)); err != nil {
				t.Fatalf("token from before the restart: %v", err)
			}
			stop()

			wrong := environ{}
			for k, v := range e {
				wrong[k] = v
			}
			wrong["BATON_KEK"] = randomKEK(t)
			wrong["BATON_ADDR"] = freeAddr(t)
			code, _, errOut := runCmd(t, wrong, "", "serve")
			if code == 0 || !strings.Contains(errOut, "BATON_KEK: keys: the KEK does not decrypt signing key") || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
				t.Fatalf("serve with a wrong KEK: exit %d, stderr %q", code, errOut)
			}
			after := storedKeys(t, dbURL)
			if len(after) != len(before) {
				t.Fatalf("the wrong KEK changed the keys: %d → %d", len(before), len(after))
			}
			for i := range before {
				if before[i].ID != after[i].ID || before[i].State != after[i].State || !bytes.Equal(before[i].SealedKey, after[i].SealedKey) {
					t.Fatal("the wrong KEK changed a stored key")
				}
			}
		})
	}
}

const secretLine = "a-long-random-client-secret\n"

func clientToken(t *testing.T, base, id string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, strings.TrimSpace(secretLine))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

// buildBaton compiles the binary once per test.
func buildBaton(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "baton")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a `baton serve` child process.
type process struct {
	base string
	cmd  *exec.Cmd
	logs *syncWriter // its stderr, written while the test reads it
}

func startProcess(t *testing.T, bin string, e environ) *process {
	t.Helper()
	return startProcessAt(t, bin, e, freeAddr(t))
}

// startProcessAt runs `baton serve` on the given address.
func startProcessAt(t *testing.T, bin string, e environ, addr string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BATON_ADDR=" + addr}
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{base: "http://" + addr, cmd: cmd, logs: &syncWriter{w: &bytes.Buffer{}}}
	cmd.Stdout, cmd.Stderr = io.Discard, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("logs of %s:\n%s", p.base, p.logs.String())
		}
	})
	waitReady(t, p.base)
	return p
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String returns what was written so far.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}

type issued struct {
	token    string
	kid      string
	received time.Time
	started  time.Time
	exp      time.Time
}

type fetched struct {
	instance int
	started  time.Time
	ended    time.Time
	set      jose.JSONWebKeySet
}

// TestTwoInstancesRotate runs two `baton serve` processes on one Postgres
// with a rotation period of 3 s for more than three rotations, issuing tokens
// from both all the time, and fetching both JWKS all the time. Every token
// verifies against every JWKS fetched after it was issued while it is valid
// (plus the JWKS max-age), and every key is in both JWKS at least the
// max-age before its first signature.
func TestTwoInstancesRotate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 15 s")
	}
	dbURL := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	const (
		period = 3 * time.Second
		maxAge = time.Second
		ttl    = 2 * time.Second
		run    = 4*period + period/2
	)
	e := environ{
		"BATON_DATABASE_URL": dbURL, "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn",
		"BATON_ISSUER": "http://localhost:8080", "BATON_KEY_ROTATION_PERIOD": period.String(),
		"BATON_JWKS_MAX_AGE": maxAge.String(), "BATON_ACCESS_TOKEN_TTL": ttl.String(),
	}
	if code, _, errOut := runCmd(t, e, secretLine, "client", "add", "--id", "worker", "--secret-stdin", "--grants", "client_credentials"); code != 0 {
		t.Fatal(errOut)
	}
	bin := buildBaton(t)
	procs := []*process{startProcess(t, bin, e), startProcess(t, bin, e)}

	ctx, cancel := context.WithTimeout(t.Context(), run)
	defer cancel()
	var mu sync.Mutex
	var tokens []issued
	var fetches []fetched
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(2)
		go func() { // issue tokens, one every 20 ms
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for ; ctx.Err() == nil; paced(ctx, tick) {
				started := time.Now()
				tok, err := issueToken(p.base)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("instance %d: %v", i, err)
					}
					return
				}
				mu.Lock()
				tokens = append(tokens, issued{token: tok.token, kid: tok.kid, exp: tok.exp, started: started, received: time.Now()})
				mu.Unlock()
			}
		}()
		go func() { // fetch the JWKS, every 25 ms
			defer wg.Done()
			tick := time.NewTicker(25 * time.Millisecond)
			defer tick.Stop()
			for ; ctx.Err() == nil; paced(ctx, tick) {
				started := time.Now()
				set := fetchJWKS(t, p.base)
				mu.Lock()
				fetches = append(fetches, fetched{instance: i, started: started, ended: time.Now(), set: set})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	kids := map[string]time.Time{} // kid → first signature (request start)
	for _, tok := range tokens {
		if first, ok := kids[tok.kid]; !ok || tok.started.Before(first) {
			kids[tok.kid] = tok.started
		}
	}
	if len(kids) < 4 {
		t.Fatalf("%d signing keys used in %s, want at least 4 (three rotations)", len(kids), run)
	}
	t.Logf("%d tokens, %d JWKS fetches, %d signing keys", len(tokens), len(fetches), len(kids))
	checked := 0
	for _, f := range fetches {
		for _, tok := range tokens {
			if tok.received.After(f.started) || !f.started.Before(tok.exp.Add(maxAge)) {
				continue // issued after the fetch began, or long expired
			}
			if _, err := verifyWith(tok.token, f.set); err != nil {
				t.Fatalf("token of key %s (exp %s) against the JWKS of instance %d fetched at %s: %v",
					tok.kid, tok.exp.Format(time.StampMilli), f.instance, f.started.Format(time.StampMilli), err)
			}
			checked++
		}
	}
	bootstrap := slices.MinFunc(tokens, func(a, b issued) int { return a.started.Compare(b.started) }).kid
	for kid, first := range kids {
		if kid == bootstrap {
			continue // the first key signs at once: nobody can have cached a JWKS before it
		}
		for i := range procs {
			// The last fetch from this instance that ended a max-age before the first signature.
			var last *fetched
			for j := range fetches {
				if f := &fetches[j]; f.instance == i && !f.ended.After(first.Add(-maxAge)) {
					last = f
				}
			}
			if last == nil || len(last.set.Key(kid)) == 0 {
				t.Fatalf("key %s signed at %s but instance %d did not publish it a max-age before",
					kid, first.Format(time.StampMilli), i)
			}
		}
	}
	t.Logf("%d token × JWKS verifications", checked)
}

// paced waits for the next tick of a client's request rate, or for ctx to end.
func paced(ctx context.Context, tick *time.Ticker) {
	select {
	case <-tick.C:
	case <-ctx.Done():
	}
}

type tokenInfo struct {
	token, kid string
	exp        time.Time
}

func issueToken(base string) (tokenInfo, error) {
	req, _ := http.NewRequest("POST", base+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("worker", strings.TrimSpace(secretLine))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tokenInfo{}, err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return tokenInfo{}, fmt.Errorf("token endpoint: %d %v", resp.StatusCode, err)
	}
	jws, err := jose.ParseSignedCompact(out.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return tokenInfo{}, err
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return tokenInfo{}, err
	}
	return tokenInfo{token: out.AccessToken, kid: jws.Signatures[0].Header.KeyID, exp: time.Unix(claims.Exp, 0)}, nil
}

func TestKeysListAndRotate(t *testing.T) {
	e := sqliteEnv(t.TempDir())
	e["BATON_JWKS_MAX_AGE"] = "1s"
	e["BATON_KEY_ROTATION_PERIOD"] = "2s"
	at := time.Now().Truncate(time.Second) // whole seconds: any storage keeps them exactly
	now := func() time.Time { return at }
	code, out, errOut := runCmdAt(t, now, e, "", "keys", "list")
	if code != 0 || !strings.Contains(out, "KID") || strings.Count(out, " active ") != 1 || strings.Count(out, " next ") != 1 {
		t.Fatalf("keys list: %d %q %q", code, out, errOut)
	}
	at = at.Add(999 * time.Millisecond)
	code, _, errOut = runCmdAt(t, now, e, "", "keys", "rotate")
	if code == 0 || !strings.Contains(errOut, "BATON_JWKS_MAX_AGE") {
		t.Fatalf("rotate to a key published less than a max-age ago: %d %q", code, errOut)
	}
	at = at.Add(time.Millisecond) // the next key has been published for a max-age
	code, out, errOut = runCmdAt(t, now, e, "", "keys", "rotate")
	if code != 0 || !strings.Contains(out, "rotated") {
		t.Fatalf("keys rotate: %d %q %q", code, out, errOut)
	}
	_, out, _ = runCmdAt(t, now, e, "", "keys", "list")
	if strings.Count(out, " retired ") != 1 || strings.Count(out, " active ") != 1 || strings.Count(out, " next ") != 1 {
		t.Fatalf("after rotate:\n%s", out)
	}
}

// TestKeysRekey rotates the KEK: afterwards the server starts with the new
// KEK, keeps the same keys, and refuses the old one.
func TestKeysRekey(t *testing.T) {
	e := environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "baton.db"), "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
	out := (&deployment{env: e}).cli(t, "", "keys", "list")
	newKEK := randomKEK(t)
	if code, _, errOut := runCmd(t, e, "", "keys", "rekey"); code == 0 || !strings.Contains(errOut, "--new-kek-stdin") {
		t.Fatalf("rekey without stdin: %d %q", code, errOut)
	}
	if code, got, errOut := runCmd(t, e, newKEK+"\n", "keys", "rekey", "--new-kek-stdin"); code != 0 || !strings.Contains(got, "2 signing keys re-sealed") {
		t.Fatalf("rekey: %d %q %q", code, got, errOut)
	}
	if code, _, errOut := runCmd(t, e, "", "keys", "list"); code == 0 || !strings.Contains(errOut, "BATON_KEK: keys: the KEK does not decrypt") {
		t.Fatalf("the old KEK still opens the keys: %d %q", code, errOut)
	}
	e["BATON_KEK"] = newKEK
	if after := (&deployment{env: e}).cli(t, "", "keys", "list"); after != out {
		t.Fatalf("keys changed:\n%s\nwant\n%s", after, out)
	}
}
