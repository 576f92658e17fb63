package oauth

import (
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	reg := []string{"https://app.example/cb", "http://127.0.0.1/native", "http://[::1]:8000/v6?x=1", "com.example.app:/oauth", "http://localhost:3000/cb"}
	for _, tt := range []struct {
		requested string
		want      bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb/", false},
		{"https://app.example/CB", false},
		{"https://APP.example/cb", false},
		{"https://app.example/cb?x=1", false},
		{"https://app.example/cb#f", false},
		{"https://app.example:443/cb", false},
		{"http://app.example/cb", false},
		{"https://app.example.evil/cb", false},
		{"https://app.example/cb/../cb", false},
		{"com.example.app:/oauth", true},
		{"http://127.0.0.1/native", true},
		{"http://127.0.0.1:51234/native", true},
		{"http://127.0.0.1:1/native", true},
		{"http://127.0.0.1:65535/native", true},
		{"http://127.0.0.1:65536/native", false},
		{"http://127.0.0.1:0/native", false},
		{"http://127.0.0.1:080/native", false},
		{"http://127.0.0.1:/native", false},
		{"http://127.0.0.1:80x/native", false},
		{"http://127.0.0.1:5000/native/x", false},
		{"http://127.0.0.1:5000/native?x", false},
		{"http://127.0.0.1.evil.example/native", false},
		{"http://127.0.0.1@evil.example/native", false},
		{"https://127.0.0.1:5000/native", false},
		{"http://[::1]:8000/v6?x=1", true},
		{"http://[::1]/v6?x=1", true},
		{"http://[::1]:9/v6?x=1", true},
		{"http://[::1]:9/v6?x=2", false},
		{"http://127.0.0.1:8000/v6?x=1", false},
		{"http://localhost:3000/cb", true},
		{"http://localhost:3001/cb", false}, // RFC 8252 §8.3: only IP literals get any port
		{"", false},
	} {
		t.Run(tt.requested, func(t *testing.T) {
			if got := matchRedirectURI(reg, tt.requested); got != tt.want {
				t.Errorf("matchRedirectURI(%q) = %v, want %v", tt.requested, got, tt.want)
			}
		})
	}
}

func TestCheckClientSpecCodeFlow(t *testing.T) {
	base := ClientSpec{ID: "app", Public: true, Grants: []string{"authorization_code", "refresh_token"}}
	for _, tt := range []struct {
		name    string
		edit    func(*ClientSpec)
		wantErr string
	}{
		{"ok", func(s *ClientSpec) { s.RedirectURIs = []string{"https://app.example/cb"} }, ""},
		{"loopback", func(s *ClientSpec) { s.RedirectURIs = []string{"http://127.0.0.1/cb"} }, ""},
		{"custom scheme", func(s *ClientSpec) { s.RedirectURIs = []string{"com.example.app:/cb"} }, ""},
		{"no redirect", func(s *ClientSpec) {}, "needs at least one --redirect-uri"},
		{"relative", func(s *ClientSpec) { s.RedirectURIs = []string{"/cb"} }, "absolute"},
		{"fragment", func(s *ClientSpec) { s.RedirectURIs = []string{"https://app.example/cb#x"} }, "fragment"},
		{"http remote", func(s *ClientSpec) { s.RedirectURIs = []string{"http://app.example/cb"} }, "loopback"},
		{"javascript", func(s *ClientSpec) { s.RedirectURIs = []string{"javascript:alert(1)"} }, "not allowed"},
		{"space", func(s *ClientSpec) { s.RedirectURIs = []string{"https://app.example/a b"} }, "without spaces"},
		{"redirect without grant", func(s *ClientSpec) {
			s.Grants = []string{"password"}
			s.RedirectURIs = []string{"https://app.example/cb"}
		}, "only used with"},
		{"origin ok", func(s *ClientSpec) {
			s.RedirectURIs = []string{"https://app.example/cb"}
			s.AllowedOrigins = []string{"https://app.example", "http://localhost:5173"}
		}, ""},
		{"origin with path", func(s *ClientSpec) {
			s.RedirectURIs = []string{"https://app.example/cb"}
			s.AllowedOrigins = []string{"https://app.example/"}
		}, "scheme://host"},
		{"origin wildcard", func(s *ClientSpec) {
			s.RedirectURIs = []string{"https://app.example/cb"}
			s.AllowedOrigins = []string{"*"}
		}, "scheme://host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := base
			tt.edit(&spec)
			err := checkClientSpec(spec)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
