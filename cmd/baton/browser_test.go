package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium; without it the browser test is
// skipped, except under CI=true, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed")
	return ""
}

// refreshes counts the refresh grants baton itself logged.
func refreshes(logs *syncWriter) int {
	n := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		var entry struct {
			Msg   string `json:"msg"`
			Grant string `json:"grant_type"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "token issued" && entry.Grant == "refresh_token" {
			n++
		}
	}
	return n
}

func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))
}

// tokenExpired waits until the access token the demo keeps in
// localStorage has expired by the page's clock, with a quarter second more
// so that the client's monotonic clock agrees: the page then refreshes on
// its next call.
func tokenExpired() chromedp.Action[chromedp.Void] {
	return waitFor(`(s => s !== null && s.savedAt + s.remaining + 250 <= Date.now())(JSON.parse(localStorage.getItem('baton:demo:tokens')))`)
}

func text(sel, want string) chromedp.Action[chromedp.Void] {
	return waitFor(`document.querySelector(` + jsString(sel) + `).textContent === ` + jsString(want))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestDemoPageInChromium drives the demo page in headless Chromium with a
// 2-second access-token lifetime: after expiry, 10 calls at once cause one
// refresh (counted by baton) and all succeed; two tabs firing at once share
// one refresh; revoking the session through the admin API signs both tabs out.
// After signing in again, Sign out revokes the refresh token at baton (which
// then refuses it with invalid_grant) and signs both tabs out; a call to
// another origin is refused by the client. With BATON_DEMO_SCREENSHOT=FILE
// it saves a PNG of the page at the end.
func TestDemoPageInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	const ttl = 2 * time.Second
	e := environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "baton.db"), "BATON_KEK": randomKEK(t),
		"BATON_DEMO": "true", "BATON_ACCESS_TOKEN_TTL": ttl.String(), "BATON_LOG_LEVEL": "info"}
	d := &deployment{env: e}
	d.cli(t, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin")
	d.cli(t, "", "client", "add", "--id", "demo", "--public", "--grants", "password,refresh_token", "--scopes", "demo")
	d.cli(t, secretLine, "client", "add", "--id", "ops", "--secret-stdin", "--grants", "client_credentials", "--scopes", "admin")
	base, stop, logs := launch(t, e)
	defer stop()
	d.base = base

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	)...)
	defer cancelAlloc()
	tab1, cancel1 := chromedp.NewContext(alloc)
	defer cancel1()
	run := func(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#log")))
			t.Fatalf("browser: %v\npage log:\n%s", err, page)
		}
	}
	// The first action on a tab starts it; it must not run under a timeout.
	run(tab1, chromedp.Navigate(base+"/demo/"))
	ctx, cancel := context.WithTimeout(tab1, 90*time.Second)
	defer cancel()
	run(ctx, chromedp.WaitVisible(chromedp.CSS("#signin")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), "hunter2hunter2"),
		chromedp.Click(chromedp.CSS("#signin")), text("#status", "signed in"))

	// Ten calls after the access token has expired: one refresh, ten successes.
	run(ctx, tokenExpired())
	before := refreshes(logs)
	run(ctx, chromedp.Click(chromedp.CSS("#fire")), text("#results", "10/10 ok"))
	if n := refreshes(logs) - before; n != 1 {
		t.Fatalf("%d refreshes for 10 calls after expiry, want 1", n)
	}

	// A second tab shares the session; both fire at once after expiry: one refresh.
	tab2, cancel2 := chromedp.NewContext(tab1)
	defer cancel2()
	run(tab2, chromedp.Navigate(base+"/demo/"))
	ctx2, cancel2b := context.WithTimeout(tab2, 60*time.Second)
	defer cancel2b()
	run(ctx2, text("#status", "signed in"))
	run(ctx, tokenExpired())
	before = refreshes(logs)
	// Both tabs click at one agreed moment of the browser's clock, so that
	// they race however slowly the test drives them.
	at := time.Now().Add(time.Second).UnixMilli()
	click := fmt.Sprintf(`setTimeout(() => document.querySelector('#fire').click(), %d - Date.now()), true`, at)
	for _, c := range []context.Context{ctx, ctx2} {
		if _, err := chromedp.Run(c, chromedp.Evaluate[bool](click)); err != nil {
			t.Fatal(err)
		}
	}
	run(ctx, text("#results", "10/10 ok"))
	run(ctx2, text("#results", "10/10 ok"))
	if n := refreshes(logs) - before; n != 1 {
		log1, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#log")))
		log2, _ := chromedp.Run(ctx2, chromedp.TextContent(chromedp.CSS("#log")))
		t.Fatalf("%d refreshes for two tabs firing at once, want 1\ntab 1:\n%s\ntab 2:\n%s\nserver:\n%s", n, log1, log2, logs)
	}

	// The admin ends the session: once the access token expires, the
	// refresh is refused and both tabs sign out.
	if status, body := d.admin(t, http.MethodDelete, "/admin/v1/sessions?username=alice"); status != 200 || body["revoked"] != float64(1) {
		t.Fatalf("admin revoke: %d %v", status, body)
	}
	run(ctx, tokenExpired())
	run(ctx, chromedp.Click(chromedp.CSS("#fire")), text("#status", "signed out"), text("#results", "0/10 ok"))
	run(ctx2, text("#status", "signed out"))

	// Sign in again, then out: baton must refuse the refresh token the tabs held.
	run(ctx, chromedp.Click(chromedp.CSS("#signin")), text("#status", "signed in"))
	run(ctx2, text("#status", "signed in")) // the pair reached the other tab
	rt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem('baton:demo:tokens')).refreshToken`))
	if err != nil || rt == "" {
		t.Fatalf("refresh token in localStorage: %q %v", rt, err)
	}
	run(ctx, chromedp.Click(chromedp.CSS("#signout")), text("#status", "signed out"),
		waitFor(`document.querySelector('#log').textContent.includes('signed out: baton revoked the refresh token')`))
	run(ctx2, text("#status", "signed out"))
	for _, c := range []context.Context{ctx, ctx2} {
		if left, err := chromedp.Run(c, chromedp.Evaluate[bool](`localStorage.getItem('baton:demo:tokens') !== null`)); err != nil || left {
			t.Fatalf("tokens left in localStorage after sign-out: %v %v", left, err)
		}
	}
	status, body := postForm(t, base+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"demo"}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("the refresh token after sign-out: %d error=%v, want 400 invalid_grant", status, body["error"])
	}

	// The bearer token goes to resourceOrigins only: a call elsewhere is refused in the page.
	run(ctx, chromedp.Click(chromedp.CSS("#signin")), text("#status", "signed in"), chromedp.Click(chromedp.CSS("#elsewhere")),
		waitFor(`document.querySelector('#log').textContent.includes('ResourceOriginError')`))
	if file := os.Getenv("BATON_DEMO_SCREENSHOT"); file != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	assertNoSecrets(t, logs.String(), []string{"hunter2hunter2", strings.TrimSpace(secretLine), e["BATON_KEK"]})
}
