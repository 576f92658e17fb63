package oauth

import (
	"strings"
	"testing"
)

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", "read", "read write", "  read  read ", "a\"b", "é", "a\\b", "x\ty"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseScope(s)
		if err != nil {
			if !strings.ContainsFunc(s, func(r rune) bool { return r != ' ' && (r < 0x21 || r == '"' || r == '\\' || r > 0x7e) }) {
				t.Fatalf("ParseScope(%q) refused a valid scope: %v", s, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, tok := range got {
			if !validScopeToken(tok) || seen[tok] {
				t.Fatalf("ParseScope(%q) = %q: invalid or duplicate token", s, got)
			}
			seen[tok] = true
		}
		if len(seen) != len(uniq(strings.Fields(s))) {
			t.Fatalf("ParseScope(%q) = %q lost tokens", s, got)
		}
	})
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

func TestNarrowScope(t *testing.T) {
	allowed := []string{"read", "write"}
	for _, tt := range []struct {
		req   []string
		given bool
		want  string
		ok    bool
	}{
		{nil, false, "read write", true},
		{nil, true, "read write", true}, // scope= (empty) means the whole grant
		{[]string{"read"}, true, "read", true},
		{[]string{"write", "read"}, true, "write read", true},
		{[]string{"admin"}, true, "", false},
	} {
		got, err := narrowScope(tt.req, tt.given, allowed)
		if (err == nil) != tt.ok || joinScope(got) != tt.want {
			t.Errorf("narrowScope(%q, %v) = %q, %v", tt.req, tt.given, got, err)
		}
	}
}
