package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretFiles: BATON_KEK_FILE and BATON_DATABASE_URL_FILE read the value
// from a file (one trailing newline trimmed); both set, or an unreadable
// file, is an error naming the variables, never echoing the value.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const pgURL = "postgres://baton:s3cret@db:5432/baton"
	kekFile := write("kek", kek+"\n")
	for _, tt := range []struct {
		name  string
		env   env
		check func(Config) bool
		want  []string // parts of the error
	}{
		{"kek file", env{"BATON_KEK_FILE": kekFile}, func(c Config) bool { return c.KEK == kek }, nil},
		{"kek file crlf", env{"BATON_KEK_FILE": write("kek-crlf", kek+"\r\n")}, func(c Config) bool { return c.KEK == kek }, nil},
		{"kek file no newline", env{"BATON_KEK_FILE": write("kek-bare", kek)}, func(c Config) bool { return c.KEK == kek }, nil},
		{"database url file", env{"BATON_DATABASE_URL_FILE": write("db", pgURL+"\n"), "BATON_KEK_FILE": kekFile},
			func(c Config) bool { return c.DatabaseURL == pgURL && c.IsPostgres() }, nil},
		{"only one newline trimmed", env{"BATON_DATABASE_URL_FILE": write("db-2nl", "sqlite:x.db\n\n")},
			func(c Config) bool { return c.DatabaseURL == "sqlite:x.db\n" }, nil},
		{"both kek", env{"BATON_KEK": kek, "BATON_KEK_FILE": kekFile}, nil, []string{"BATON_KEK and BATON_KEK_FILE"}},
		{"both database", env{"BATON_DATABASE_URL": "sqlite:x.db", "BATON_DATABASE_URL_FILE": write("db2", "sqlite:y.db")},
			nil, []string{"BATON_DATABASE_URL and BATON_DATABASE_URL_FILE"}},
		{"unreadable kek", env{"BATON_KEK_FILE": filepath.Join(dir, "absent")}, nil, []string{"BATON_KEK_FILE", "absent"}},
		{"unreadable database", env{"BATON_DATABASE_URL_FILE": dir}, nil, []string{"BATON_DATABASE_URL_FILE"}},
		{"empty file", env{"BATON_KEK_FILE": write("empty", "\n")}, nil, []string{"BATON_KEK_FILE", "empty"}},
		{"no _FILE for other settings", env{"BATON_ADDR_FILE": write("addr", "nope")}, func(c Config) bool { return c.Addr == ":8080" }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.env.get)
			if tt.want != nil {
				if err == nil {
					t.Fatalf("no error, want one containing %q", tt.want)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q, want one containing %q", err, w)
					}
				}
				for _, secret := range []string{kek, "s3cret"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q echoes a secret", err)
					}
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

// TestInternalListener: BATON_INTERNAL_ADDR is a host:port of its own, and
// BATON_INTERNAL_ADMIN needs it.
func TestInternalListener(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  env
		want string // part of the error; "" = accepted
	}{
		{"off", env{}, ""},
		{"on", env{"BATON_INTERNAL_ADDR": "127.0.0.1:9090"}, ""},
		{"with admin", env{"BATON_INTERNAL_ADDR": ":9090", "BATON_INTERNAL_ADMIN": "true"}, ""},
		{"not host:port", env{"BATON_INTERNAL_ADDR": "9090"}, "BATON_INTERNAL_ADDR"},
		{"same as public", env{"BATON_ADDR": ":9090", "BATON_INTERNAL_ADDR": ":9090"}, "BATON_INTERNAL_ADDR"},
		{"same as pprof", env{"BATON_PPROF_ADDR": "127.0.0.1:6060", "BATON_INTERNAL_ADDR": "127.0.0.1:6060"}, "BATON_INTERNAL_ADDR"},
		{"admin without listener", env{"BATON_INTERNAL_ADMIN": "true"}, "BATON_INTERNAL_ADMIN: needs BATON_INTERNAL_ADDR"},
		{"admin not a boolean", env{"BATON_INTERNAL_ADDR": ":9090", "BATON_INTERNAL_ADMIN": "yes please"}, "BATON_INTERNAL_ADMIN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.env.get)
			if tt.want == "" && err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
