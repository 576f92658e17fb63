package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type env map[string]string

func (e env) get(k string) string { return e[k] }

const kek = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes

func TestDefaults(t *testing.T) {
	c, err := Load(env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	if c != Defaults() {
		t.Fatalf("got %+v", c)
	}
	if c.TokenAudience() != "http://localhost:8080" {
		t.Fatalf("audience %q", c.TokenAudience())
	}
	if !c.IsSQLite() {
		t.Fatalf("database %q is not SQLite", c.DatabaseURL)
	}
}

func TestExampleFileIsTrue(t *testing.T) {
	c, err := Load(env{"BATON_CONFIG": "baton.yaml"}.get)
	if err != nil {
		t.Fatal(err)
	}
	if c != Defaults() {
		t.Fatalf("baton.yaml says %+v, defaults are %+v", c, Defaults())
	}
	// It names every setting.
	raw, _ := os.ReadFile("baton.yaml")
	d := Defaults()
	d.eachField(func(name string, _ reflect.Value, _ bool) {
		key := strings.ToLower(strings.TrimPrefix(name, prefix))
		if !strings.Contains(string(raw), "\n"+key+":") {
			t.Errorf("baton.yaml lacks %s", key)
		}
	})
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name, key, value string
		check            func(Config) bool
		errPart          string
	}{
		{"addr", "BATON_ADDR", "127.0.0.1:9000", func(c Config) bool { return c.Addr == "127.0.0.1:9000" }, ""},
		{"bad addr", "BATON_ADDR", "nope", nil, "BATON_ADDR"},
		{"issuer https", "BATON_ISSUER", "https://auth.example.com", func(c Config) bool { return c.Issuer == "https://auth.example.com" }, ""},
		{"issuer http non-local", "BATON_ISSUER", "http://auth.example.com", nil, "BATON_ISSUER"},
		{"issuer relative", "BATON_ISSUER", "/auth", nil, "BATON_ISSUER"},
		{"issuer query", "BATON_ISSUER", "https://a.example/?x=1", nil, "BATON_ISSUER"},
		{"audience", "BATON_AUDIENCE", "https://api.example.com", func(c Config) bool { return c.TokenAudience() == "https://api.example.com" }, ""},
		{"postgres", "BATON_DATABASE_URL", "postgres://u@h/db", nil, "BATON_KEK"},
		{"bad database", "BATON_DATABASE_URL", "mysql://x", nil, "BATON_DATABASE_URL"},
		{"empty sqlite path", "BATON_DATABASE_URL", "sqlite:", nil, "BATON_DATABASE_URL"},
		{"ttl", "BATON_ACCESS_TOKEN_TTL", "5m", func(c Config) bool { return c.AccessTokenTTL == 5*time.Minute }, ""},
		{"bad ttl", "BATON_ACCESS_TOKEN_TTL", "15x", nil, `BATON_ACCESS_TOKEN_TTL: "15x": not a duration`},
		{"zero ttl", "BATON_ACCESS_TOKEN_TTL", "0s", nil, "BATON_ACCESS_TOKEN_TTL: must be positive"},
		{"ttl over session", "BATON_ACCESS_TOKEN_TTL", "10000h", nil, "BATON_ACCESS_TOKEN_TTL"},
		{"idle", "BATON_REFRESH_IDLE_TTL", "-1h", nil, "BATON_REFRESH_IDLE_TTL"},
		{"session", "BATON_SESSION_MAX_TTL", "x", nil, "BATON_SESSION_MAX_TTL"},
		{"grace zero", "BATON_REFRESH_REUSE_GRACE", "0s", func(c Config) bool { return c.RefreshReuseGrace == 0 }, ""},
		{"grace negative", "BATON_REFRESH_REUSE_GRACE", "-1s", nil, "BATON_REFRESH_REUSE_GRACE"},
		{"max sessions", "BATON_MAX_SESSIONS_PER_USER", "3", func(c Config) bool { return c.MaxSessionsPerUser == 3 }, ""},
		{"max sessions bad", "BATON_MAX_SESSIONS_PER_USER", "three", nil, "BATON_MAX_SESSIONS_PER_USER"},
		{"max sessions negative", "BATON_MAX_SESSIONS_PER_USER", "-1", nil, "BATON_MAX_SESSIONS_PER_USER"},
		{"jwks max age", "BATON_JWKS_MAX_AGE", "1h", func(c Config) bool { return c.JWKSMaxAge == time.Hour }, ""},
		{"kek", "BATON_KEK", kek, func(c Config) bool { return c.KEK == kek }, ""},
		{"admin scope", "BATON_ADMIN_SCOPE", "a b", nil, "BATON_ADMIN_SCOPE"},
		{"memory limit MiB", "BATON_MEMORY_LIMIT", "128MiB", func(c Config) bool { n, err := c.MemoryLimitBytes(); return err == nil && n == 128<<20 }, ""},
		{"memory limit GiB", "BATON_MEMORY_LIMIT", "1GiB", func(c Config) bool { n, err := c.MemoryLimitBytes(); return err == nil && n == 1<<30 }, ""},
		{"memory limit MB", "BATON_MEMORY_LIMIT", "200MB", func(c Config) bool { n, err := c.MemoryLimitBytes(); return err == nil && n == 200e6 }, ""},
		{"memory limit bytes", "BATON_MEMORY_LIMIT", "134217728", func(c Config) bool { n, err := c.MemoryLimitBytes(); return err == nil && n == 128<<20 }, ""},
		{"memory limit unit", "BATON_MEMORY_LIMIT", "128M", nil, `BATON_MEMORY_LIMIT: "128M" is not a positive size`},
		{"memory limit zero", "BATON_MEMORY_LIMIT", "0MiB", nil, "BATON_MEMORY_LIMIT"},
		{"memory limit huge", "BATON_MEMORY_LIMIT", "99999999999TiB", nil, "BATON_MEMORY_LIMIT: \"99999999999TiB\" is too large"},
		{"log format", "BATON_LOG_FORMAT", "xml", nil, "BATON_LOG_FORMAT"},
		{"log level", "BATON_LOG_LEVEL", "loud", nil, "BATON_LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env{tt.key: tt.value}.get)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("error %v, want one containing %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("got %+v", c)
			}
		})
	}
}

// TestEveryProblemIsReported: Validate's problems and those of the checks
// Load is given (cmd/baton passes keys' rules) come in one error.
func TestEveryProblemIsReported(t *testing.T) {
	check := func(c Config) error { return errors.New("BATON_SIGNING_ALG: " + c.SigningAlg) }
	_, err := Load(env{"BATON_ACCESS_TOKEN_TTL": "x", "BATON_SIGNING_ALG": "none", "BATON_ADDR": "bad"}.get, check)
	if err == nil {
		t.Fatal("no error")
	}
	// Parse errors stop before validation; fix the duration and both validation errors appear.
	_, err = Load(env{"BATON_SIGNING_ALG": "none", "BATON_ADDR": "bad"}.get, check)
	for _, name := range []string{"BATON_SIGNING_ALG: none", "BATON_ADDR"} {
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("error %v does not name %s", err, name)
		}
	}
}

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(path, []byte("access_token_ttl: 5m\nrefresh_reuse_grace: 3s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env{"BATON_CONFIG": path, "BATON_ACCESS_TOKEN_TTL": "7m"}.get)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessTokenTTL != 7*time.Minute || c.RefreshReuseGrace != 3*time.Second || c.RefreshIdleTTL != 720*time.Hour {
		t.Fatalf("env > file > defaults broken: %+v", c)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.yaml"), "BATON_CONFIG"},
		{"not yaml", write("bad.yaml", "a: [b"), "BATON_CONFIG"},
		{"not a mapping", write("list.yaml", "- a\n- b\n"), "BATON_CONFIG"},
		{"unknown key", write("unknown.yaml", "acess_token_ttl: 5m\n"), `unknown key "acess_token_ttl"`},
		{"bad value", write("value.yaml", "access_token_ttl: soon\n"), "BATON_ACCESS_TOKEN_TTL"},
		{"nested value", write("nested.yaml", "addr: {a: b}\n"), "BATON_ADDR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env{"BATON_CONFIG": tt.path}.get)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("15m", "ES256", "sqlite:x.db", "3")
	f.Add("-1s", "none", "postgres://x", "-2")
	f.Fuzz(func(t *testing.T, ttl, alg, db, max string) {
		c, err := Load(env{"BATON_ACCESS_TOKEN_TTL": ttl, "BATON_SIGNING_ALG": alg,
			"BATON_DATABASE_URL": db, "BATON_MAX_SESSIONS_PER_USER": max}.get)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Load accepted a config Validate refuses: %v", verr)
			}
		}
	})
}
