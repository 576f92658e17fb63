package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// TestCodeFlowInChromium signs in through baton's own login and consent
// pages in headless Chromium: the pages work without script, their CSP lets
// the browser follow the redirect to the app's loopback callback (any
// port), and the code the app receives is exchanged with x/oauth2.
func TestCodeFlowInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	e := environ{"BATON_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "baton.db"), "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
	d := &deployment{env: e}
	d.cli(t, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin")
	d.cli(t, "", "client", "add", "--id", "photos", "--public", "--grants", "authorization_code,refresh_token",
		"--scopes", "openid read", "--redirect-uri", "http://127.0.0.1/callback")
	base, stop, _ := launch(t, e)
	defer stop()

	got := make(chan string, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.RawQuery:
		default:
		}
		_, _ = w.Write([]byte(`<!doctype html><p id="done">signed in</p>`))
	}))
	defer app.Close()
	cfg := oauth2.Config{ClientID: "photos", RedirectURL: app.URL + "/callback", Scopes: []string{"openid", "read"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/oauth2/authorize", TokenURL: base + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
	)...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(cfg.AuthCodeURL("st-9", oauth2.S256ChallengeOption(verifier)))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.SendKeys(chromedp.CSS("#password"), "hunter2hunter2"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`button[value=allow]`)),
		chromedp.Click(chromedp.CSS(`button[value=allow]`)),
		chromedp.WaitVisible(chromedp.CSS("#done")),
	); err != nil {
		t.Fatalf("browser: %v", err)
	}
	var query string
	select {
	case query = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the app's callback was never called")
	}
	q, err := url.ParseQuery(query)
	if err != nil || q.Get("state") != "st-9" || q.Get("iss") == "" || q.Get("code") == "" {
		t.Fatalf("callback %s", query)
	}
	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("id_token") == nil || tok.RefreshToken == "" {
		t.Fatalf("token response %+v", tok)
	}
}
