package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// grants counts the tokens baton logged as issued with the grant type.
func grants(logs *syncWriter, grant string) int {
	n := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		var entry struct {
			Msg   string `json:"msg"`
			Grant string `json:"grant_type"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "token issued" && entry.Grant == grant {
			n++
		}
	}
	return n
}

// TestDemoRedirectLoginInChromium signs in on the demo page with the
// shipped client's loginWithRedirect: the demo's button leads to baton's
// login and consent pages, which come back to the demo, whose
// handleRedirectCallback exchanges the code (PKCE S256) in that new page
// load. With a 2-second access-token lifetime, 10 calls after expiry cause
// one refresh (counted by baton) and all succeed; Sign out then revokes the
// refresh token, which baton refuses afterwards. With
// BATON_DEMO_SCREENSHOT_DIR=DIR it saves demo-login.png (baton's login page
// as reached from the demo) and demo-redirect.png (the demo once back).
// On SQLite and Postgres.
func TestDemoRedirectLoginInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	for name, dbURL := range backendsURL(t) {
		t.Run(name, func(t *testing.T) { demoRedirectLogin(t, chrome, dbURL(t)) })
	}
}

func demoRedirectLogin(t *testing.T, chrome, dbURL string) {
	const ttl = 2 * time.Second
	e := environ{"BATON_DATABASE_URL": dbURL, "BATON_KEK": randomKEK(t),
		"BATON_DEMO": "true", "BATON_ACCESS_TOKEN_TTL": ttl.String(), "BATON_LOG_LEVEL": "info",
		// Not the origin the page is opened at: the demo must take the issuer
		// from discovery, or it refuses the redirect's iss (RFC 9207).
		"BATON_ISSUER": "http://localhost:8080"}
	d := &deployment{env: e}
	d.cli(t, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin")
	// As README has it, with the loopback IP for the test's port (any port matches).
	d.cli(t, "", "client", "add", "--id", "demo", "--public", "--grants", "password,authorization_code,refresh_token",
		"--scopes", "openid demo", "--redirect-uri", "http://127.0.0.1/demo/")
	base, stop, logs := launch(t, e)
	defer stop()
	shots := os.Getenv("BATON_DEMO_SCREENSHOT_DIR")
	screenshot := func(ctx context.Context, name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	)...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	// The first action on a tab starts it; it must not run under a timeout.
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/demo/")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	pageLog := func() string {
		s, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#log")))
		return s
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			where, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s: %v\nat %s\ndemo page log:\n%s", what, err, where, pageLog())
		}
	}

	// The demo's button leads to baton's login page, which carries an S256 challenge.
	run("redirect to baton's login page", chromedp.WaitVisible(chromedp.CSS("#redirect")), chromedp.Click(chromedp.CSS("#redirect")),
		chromedp.WaitVisible(chromedp.CSS("#username")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	authz, _ := url.Parse(loc)
	if q := authz.Query(); authz.Path != "/oauth2/authorize" || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || q.Get("redirect_uri") != base+"/demo/" || q.Get("client_id") != "demo" {
		t.Fatalf("the demo sent the browser to %s", loc)
	}
	screenshot(ctx, "demo-login.png")
	run("sign in and allow", chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), "hunter2hunter2"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`button[value=allow]`)), chromedp.Click(chromedp.CSS(`button[value=allow]`)))

	// Back on the demo: the code was exchanged in this load, and the address bar cleaned.
	run("back on the demo, signed in", chromedp.WaitVisible(chromedp.CSS("#fire")), text("#status", "signed in"),
		waitFor(`document.querySelector('#log').textContent.includes('userinfo: alice')`))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	if err != nil || loc != base+"/demo/" {
		t.Fatalf("address after the callback: %q %v, want %s/demo/ without the response", loc, err, base)
	}
	if n := grants(logs, "authorization_code"); n != 1 {
		t.Fatalf("%d authorization_code grants logged, want 1", n)
	}
	idSub, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.parse(atob(JSON.parse(localStorage.getItem('baton:demo:tokens')).idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub`))
	if err != nil || idSub == "" {
		t.Fatalf("id_token sub in localStorage: %q %v", idSub, err)
	}
	screenshot(ctx, "demo-redirect.png")

	// Ten calls after the access token has expired: one refresh, ten successes.
	run("the access token expires", tokenExpired())
	before := refreshes(logs)
	run("10 calls after expiry", chromedp.Click(chromedp.CSS("#fire")), text("#results", "10/10 ok"))
	if n := refreshes(logs) - before; n != 1 {
		t.Fatalf("%d refreshes for 10 calls after expiry, want 1\ndemo page log:\n%s", n, pageLog())
	}
	if !strings.Contains(pageLog(), "refreshed") {
		t.Fatalf("the page did not log its refresh:\n%s", pageLog())
	}

	// Sign out: baton must refuse the refresh token the page held.
	rt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem('baton:demo:tokens')).refreshToken`))
	if err != nil || rt == "" {
		t.Fatalf("refresh token in localStorage: %q %v", rt, err)
	}
	run("sign out", chromedp.Click(chromedp.CSS("#signout")), text("#status", "signed out"),
		waitFor(`document.querySelector('#log').textContent.includes('signed out: baton revoked the refresh token')`))
	status, body := postForm(t, base+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"demo"}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("the refresh token after sign-out: %d error=%v, want 400 invalid_grant", status, body["error"])
	}
	assertNoSecrets(t, logs.String(), []string{"hunter2hunter2", rt, e["BATON_KEK"]})
}
