package handlers

import (
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/batonhq/baton/oauth"
)

// tokenRequestSeeds are FuzzParseTokenRequest's seeds: body, Authorization.
// TestFuzzSeedsEndToEndPostgres sends them to a server too.
var tokenRequestSeeds = [][2]string{
	{"grant_type=password&username=a&password=b&client_id=c", ""},
	{"grant_type=refresh_token&refresh_token=x", "Basic YTpi"},
	{"grant_type=client_credentials&scope=a%20b", "Basic %%%"},
	{"a=1&a=2", ""},
	{"grant_type=password&scope=%22", "Bearer x"},
}

// clientAuthSeeds are FuzzClientAuth's seeds: Authorization, body.
var clientAuthSeeds = [][2]string{
	{"Basic YmFja2VuZDpzM2NyZXQ=", ""},
	{"", "client_id=spa"},
	{"", "client_id=c&client_secret=s"},
	{"Basic YTpi", "client_secret=x"},
	{"Basic YTpi", "client_id=b"},
	{"Bearer abc", ""},
}

// FuzzParseTokenRequest: any body and Authorization header either parse into
// a request with a grant type and an authentication method, or fail with an
// error that errorTable answers with a 4xx.
func FuzzParseTokenRequest(f *testing.F) {
	for _, s := range tokenRequestSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, body, authz string) {
		r := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		req, err := parseTokenRequest(r)
		if err != nil {
			if k, _ := classify(r.Context(), err); errorTable[k].status < 400 || errorTable[k].status >= 500 {
				t.Fatalf("error %v is answered with status %d", err, errorTable[k].status)
			}
			return
		}
		if req.GrantType == "" {
			t.Fatal("accepted a request without grant_type")
		}
		for _, id := range []string{req.GrantType, req.Client.ID, req.Username} {
			if !plainText(id, true) {
				t.Fatalf("accepted identifier %q: not UTF-8 or with a control character", id)
			}
		}
		for _, v := range []string{req.Client.Secret, req.Password, req.RefreshToken} {
			if !plainText(v, false) {
				t.Fatalf("accepted value %q: not UTF-8 or with a NUL", v)
			}
		}
		switch req.Client.Method {
		case oauth.AuthBasic, oauth.AuthPost:
			if req.Client.Secret == "" {
				t.Fatalf("method %s without a secret", req.Client.Method)
			}
		case oauth.AuthNone:
			if req.Client.Secret != "" {
				t.Fatal("method none with a secret")
			}
		default:
			t.Fatalf("unknown method %q", req.Client.Method)
		}
		for _, s := range req.Scope {
			if !scopeToken.MatchString(s) {
				t.Fatalf("accepted invalid scope token %q", s)
			}
		}
	})
}

// scopeToken is RFC 6749 §3.3's scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5b\x5d-\x7e]+$`)

func TestParseBasic(t *testing.T) {
	tests := []struct {
		header, id, secret string
		ok                 bool
	}{
		{"Basic YTpi", "a", "b", true},
		{"basic YTpi", "a", "b", true},
		{"Basic " + "Y2xpZW50JTNBaWQ6cyUyNTNjcmV0", "client:id", "s%3cret", true}, // form-encoded id and secret
		{"Basic YTo=", "", "", false},                                             // "a:" empty secret
		{"Basic OmI=", "", "", false},                                             // ":b" empty id
		{"Basic YQ==", "", "", false},                                             // no colon
		{"Basic ***", "", "", false},                                              // not base64
		{"Digest YTpi", "", "", false},                                            // other scheme
		{"Basic " + "JUZGOng=", "", "", false},                                    // "%FF:x" id not UTF-8
		{"Basic " + "YSUwMGI6eA==", "", "", false},                                // "a%00b:x" NUL in the id
		{"Basic " + "YTolMDA=", "", "", false},                                    // "a:%00" NUL in the secret
	}
	for _, tt := range tests {
		id, secret, err := parseBasic(tt.header)
		if (err == nil) != tt.ok || id != tt.id || secret != tt.secret {
			t.Errorf("parseBasic(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.header, id, secret, err, tt.id, tt.secret, tt.ok)
		}
	}
}

func TestEtagMatches(t *testing.T) {
	const etag = `"abc"`
	for header, want := range map[string]bool{
		"": false, `"abc"`: true, `W/"abc"`: true, `"x", "abc"`: true, "*": true, `"abcd"`: false, `abc`: false,
	} {
		if got := etagMatches(header, etag); got != want {
			t.Errorf("etagMatches(%q) = %v, want %v", header, got, want)
		}
	}
}

// FuzzClientAuth: client authentication from any Authorization header and
// body either fails with a 4xx OAuth error or yields one consistent method.
func FuzzClientAuth(f *testing.F) {
	for _, s := range clientAuthSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authz, body string) {
		r := httptest.NewRequest("POST", "/oauth2/revoke", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		form, err := parseForm(r)
		if err != nil {
			return
		}
		cred, err := clientCredentials(r, form)
		if err != nil {
			var oerr *oauth.Error
			if k, _ := classify(r.Context(), err); !errors.As(err, &oerr) || errorTable[k].status >= 500 {
				t.Fatalf("error %v is not a 4xx OAuth error", err)
			}
			return
		}
		if !plainText(cred.ID, true) || !plainText(cred.Secret, false) {
			t.Fatalf("accepted client %q, secret %q: not UTF-8 or with a control character", cred.ID, cred.Secret)
		}
		switch {
		case authz != "" && cred.Method != oauth.AuthBasic:
			t.Fatalf("Authorization header present but method %s", cred.Method)
		case cred.Method == oauth.AuthBasic && (cred.ID == "" || cred.Secret == ""):
			t.Fatal("basic without id or secret")
		case cred.Method == oauth.AuthPost && (cred.Secret != form.Get("client_secret") || cred.Secret == ""):
			t.Fatal("post secret mismatch")
		case cred.Method == oauth.AuthNone && cred.Secret != "":
			t.Fatal("none with a secret")
		}
	})
}
