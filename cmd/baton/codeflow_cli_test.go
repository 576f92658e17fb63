package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/models/gormstore"
)

// TestClientAddCodeFlow: --redirect-uri and --origin repeat, --trusted
// marks a first-party client, and all of it is stored.
func TestClientAddCodeFlow(t *testing.T) {
	dir := t.TempDir()
	e := sqliteEnv(dir)
	code, out, errOut := runCmd(t, e, "", "client", "add", "--id", "spa", "--public",
		"--grants", "authorization_code,refresh_token", "--scopes", "openid profile",
		"--redirect-uri", "https://app.example/cb", "--redirect-uri", "http://127.0.0.1/cb",
		"--origin", "https://app.example", "--origin", "http://localhost:5173", "--trusted")
	if code != 0 {
		t.Fatalf("client add: %d %s %s", code, out, errOut)
	}
	s, err := gormstore.Open(t.Context(), "sqlite:"+filepath.Join(dir, "baton.db"), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cl, err := s.Client(t.Context(), "spa")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cl.RedirectURIs, []string{"https://app.example/cb", "http://127.0.0.1/cb"}) ||
		!slices.Equal(cl.AllowedOrigins, []string{"https://app.example", "http://localhost:5173"}) || !cl.Trusted {
		t.Fatalf("stored client %+v", cl)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"code without redirect", []string{"--grants", "authorization_code"}, "--redirect-uri"},
		{"redirect with fragment", []string{"--grants", "authorization_code", "--redirect-uri", "https://a.example/cb#x"}, "fragment"},
		{"http redirect", []string{"--grants", "authorization_code", "--redirect-uri", "http://a.example/cb"}, "loopback"},
		{"bad origin", []string{"--grants", "authorization_code", "--redirect-uri", "https://a.example/cb", "--origin", "https://a.example/x"}, "origin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"client", "add", "--id", "bad", "--public"}, tt.args...)
			code, _, errOut := runCmd(t, e, "", args...)
			if code == 0 || strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q, want one line containing %q", code, errOut, tt.want)
			}
		})
	}
	if _, err := s.Client(t.Context(), "bad"); err == nil {
		t.Fatal("a refused client was stored")
	}
}
