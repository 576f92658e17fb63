package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyConfig: the signing settings are checked by keys' rules when the
// configuration loads, each failure naming its variable (these cases moved
// here from configs with the rules).
func TestKeyConfig(t *testing.T) {
	const kek = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		env     environ
		errPart string // "" when the configuration loads
	}{
		{"alg", environ{"BATON_SIGNING_ALG": "EdDSA"}, ""},
		{"bad alg", environ{"BATON_SIGNING_ALG": "HS256"}, `BATON_SIGNING_ALG: keys: "HS256" is not ES256, RS256 or EdDSA`},
		{"rotation too short", environ{"BATON_KEY_ROTATION_PERIOD": "15m"}, "BATON_KEY_ROTATION_PERIOD and BATON_JWKS_MAX_AGE: keys: the rotation period (15m0s) must be at least twice"},
		{"kek", environ{"BATON_KEK": kek}, ""},
		{"kek short", environ{"BATON_KEK": "c2hvcnQ="}, "BATON_KEK: keys: KEK decodes to 5 bytes"},
		{"kek not base64", environ{"BATON_KEK": "!!!not-base64!!!"}, "BATON_KEK: keys: KEK is not base64"},
		{"bad kek in file", environ{"BATON_KEK_FILE": short}, "BATON_KEK: keys: KEK decodes to 5 bytes"},
		{"with configs' own", environ{"BATON_SIGNING_ALG": "none", "BATON_ADDR": "bad"}, "BATON_ADDR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(tt.env.get)
			if tt.errPart == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Fatalf("error %v, want one containing %q", err, tt.errPart)
			}
			if tt.name == "with configs' own" && !strings.Contains(err.Error(), "BATON_SIGNING_ALG") {
				t.Fatalf("error %v does not name BATON_SIGNING_ALG", err)
			}
		})
	}
}

// TestKEKNeverEchoed: a KEK that keys refuses is not repeated in the error,
// whether it comes from the environment or the YAML file.
func TestKEKNeverEchoed(t *testing.T) {
	secret := "c3VwZXItc2VjcmV0LWtleS1tYXRlcmlhbA"
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("kek: "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, e := range []environ{{"BATON_KEK": secret}, {"BATON_CONFIG": path}} {
		if _, err := loadConfig(e.get); err == nil || strings.Contains(err.Error(), secret) {
			t.Fatalf("error %v echoes the KEK", err)
		}
	}
}
