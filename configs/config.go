// Package configs loads baton's configuration: defaults, then the YAML file
// named by BATON_CONFIG, then BATON_* environment variables (SPEC §1).
// Only cmd/baton imports it; it copies values into each package's Options.
package configs

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of SPEC §1. Each field's tag is its variable.
type Config struct {
	Addr               string        `env:"BATON_ADDR"`
	Issuer             string        `env:"BATON_ISSUER"`
	Audience           string        `env:"BATON_AUDIENCE"`
	DatabaseURL        string        `env:"BATON_DATABASE_URL" file:"true"`
	AccessTokenTTL     time.Duration `env:"BATON_ACCESS_TOKEN_TTL"`
	RefreshIdleTTL     time.Duration `env:"BATON_REFRESH_IDLE_TTL"`
	SessionMaxTTL      time.Duration `env:"BATON_SESSION_MAX_TTL"`
	RefreshReuseGrace  time.Duration `env:"BATON_REFRESH_REUSE_GRACE"`
	MaxSessionsPerUser int           `env:"BATON_MAX_SESSIONS_PER_USER"`
	SigningAlg         string        `env:"BATON_SIGNING_ALG"`
	KeyRotationPeriod  time.Duration `env:"BATON_KEY_ROTATION_PERIOD"`
	JWKSMaxAge         time.Duration `env:"BATON_JWKS_MAX_AGE"`
	KEK                string        `env:"BATON_KEK" secret:"true" file:"true"`
	AdminScope         string        `env:"BATON_ADMIN_SCOPE"`
	AuditRetention     time.Duration `env:"BATON_AUDIT_RETENTION"`
	Demo               bool          `env:"BATON_DEMO"`
	TrustedProxies     string        `env:"BATON_TRUSTED_PROXIES"`
	PprofAddr          string        `env:"BATON_PPROF_ADDR"`
	MemoryLimit        string        `env:"BATON_MEMORY_LIMIT"`
	LogFormat          string        `env:"BATON_LOG_FORMAT"`
	LogLevel           string        `env:"BATON_LOG_LEVEL"`

	// Operations (issue 16): an internal listener for /metrics and,
	// optionally, the admin API.
	InternalAddr  string `env:"BATON_INTERNAL_ADDR"`
	InternalAdmin bool   `env:"BATON_INTERNAL_ADMIN"`
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Addr:              ":8080",
		Issuer:            "http://localhost:8080",
		DatabaseURL:       "sqlite:baton.db",
		AccessTokenTTL:    15 * time.Minute,
		RefreshIdleTTL:    720 * time.Hour,
		SessionMaxTTL:     2160 * time.Hour,
		RefreshReuseGrace: 10 * time.Second,
		SigningAlg:        "ES256",
		KeyRotationPeriod: 24 * time.Hour,
		JWKSMaxAge:        10 * time.Minute,
		AdminScope:        "admin",
		AuditRetention:    720 * time.Hour,
		LogFormat:         "json",
		LogLevel:          "info",
	}
}

const prefix = "BATON_"

// Load builds the configuration from the defaults, the YAML file named by
// BATON_CONFIG and the environment, and validates it. Every problem is
// reported, each naming its variable. checks add the rules of the packages
// the configuration feeds, which configs does not import: cmd/baton maps
// the settings to their options and names the variables in what they report.
func Load(getenv func(string) string, checks ...func(Config) error) (Config, error) {
	c := Defaults()
	if path := getenv("BATON_CONFIG"); path != "" {
		if err := c.loadFile(path); err != nil {
			return Config{}, err
		}
	}
	var errs []error
	c.eachField(func(name string, f reflect.Value, secret bool) {
		v, ok, err := lookupFile(getenv, name)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if ok {
			if err := set(f, v); err != nil {
				errs = append(errs, describe(name, v, secret, err))
			}
		}
	})
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	errs = append(errs, c.Validate())
	for _, check := range checks {
		errs = append(errs, check(c))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// lookup treats an empty variable as unset, as shells and compose files
// commonly export empty values.
func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// lookupFile reads a variable that may instead name a file holding its
// value (NAME_FILE, for Docker and Kubernetes secrets), for the fields tagged
// file:"true". One trailing newline is trimmed. Setting both is an error.
func lookupFile(getenv func(string) string, name string) (string, bool, error) {
	v, ok := lookup(getenv, name)
	if !fileTagged(name) {
		return v, ok, nil
	}
	fileVar := name + "_FILE"
	path, fromFile := lookup(getenv, fileVar)
	switch {
	case !fromFile:
		return v, ok, nil
	case ok:
		return "", false, fmt.Errorf("%s and %s are both set; set one", name, fileVar)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", false, fmt.Errorf("%s: read %s: %w", fileVar, path, errors.Unwrap(err))
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if s == "" {
		return "", false, fmt.Errorf("%s: %s is empty", fileVar, path)
	}
	return s, true, nil
}

// fileTagged reports whether the variable's field accepts NAME_FILE.
func fileTagged(name string) bool {
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("env") == name {
			return t.Field(i).Tag.Get("file") == "true"
		}
	}
	return false
}

// loadFile applies a YAML file whose keys are the variable names,
// lower-cased, without the prefix.
func (c *Config) loadFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("BATON_CONFIG: read %s: %w", path, err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("BATON_CONFIG: %s is not a YAML mapping: %w", path, err)
	}
	var errs []error
	known := map[string]bool{}
	c.eachField(func(name string, f reflect.Value, secret bool) {
		key := strings.ToLower(strings.TrimPrefix(name, prefix))
		known[key] = true
		node, ok := doc[key]
		if !ok {
			return
		}
		if node.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("%s (%s in %s): want a single value", name, key, path))
			return
		}
		if err := set(f, node.Value); err != nil {
			errs = append(errs, describe(name, node.Value, secret, fmt.Errorf("%w (key %s in %s)", err, key, path)))
		}
	})
	for key := range doc {
		if !known[key] {
			errs = append(errs, fmt.Errorf("BATON_CONFIG: unknown key %q in %s", key, path))
		}
	}
	return errors.Join(errs...)
}

// eachField calls fn with every field's variable name and settable value.
func (c *Config) eachField(fn func(name string, f reflect.Value, secret bool)) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		fn(t.Field(i).Tag.Get("env"), v.Field(i), t.Field(i).Tag.Get("secret") == "true")
	}
}

var durationType = reflect.TypeFor[time.Duration]()

func set(f reflect.Value, s string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("not a duration (use Go syntax such as 15m or 720h)")
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("not a boolean (true or false)")
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return errors.New("not an integer")
		}
		f.SetInt(int64(n))
	default:
		f.SetString(s)
	}
	return nil
}

// describe names the variable and quotes the bad value, except secrets.
func describe(name, value string, secret bool, err error) error {
	if secret {
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("%s: %q: %w", name, truncate(value), err)
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// IsSQLite reports whether the database is SQLite. Its file (and the local
// KEK's, beside it) is computed in one place: gormstore.SQLiteFile.
func (c Config) IsSQLite() bool {
	return strings.HasPrefix(c.DatabaseURL, "sqlite:")
}

// IsPostgres reports whether the database is Postgres.
func (c Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// Proxies returns the trusted proxies, from a comma-separated list.
func (c Config) Proxies() []string {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// MemoryLimitBytes is BATON_MEMORY_LIMIT in bytes; 0 when unset. The
// syntax is GOMEMLIMIT's: a number of bytes with an optional unit B, KiB,
// MiB, GiB or TiB (128MiB), or KB, MB, GB (powers of 1000).
func (c Config) MemoryLimitBytes() (int64, error) {
	s := strings.TrimSpace(c.MemoryLimit)
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		size   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	num, size := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, size = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.size
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size such as 128MiB", truncate(s))
	}
	if n > math.MaxInt64/size {
		return 0, fmt.Errorf("%q is too large", truncate(s))
	}
	return n * size, nil
}

// TokenAudience is the "aud" of access tokens: BATON_AUDIENCE or the issuer.
func (c Config) TokenAudience() string {
	if c.Audience != "" {
		return c.Audience
	}
	return c.Issuer
}

// Validate checks every setting and reports each failure naming its variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		bad("BATON_ADDR", "%q is not host:port", truncate(c.Addr))
	}
	if err := checkIssuer(c.Issuer); err != nil {
		bad("BATON_ISSUER", "%v", err)
	}
	if c.Audience != "" && strings.ContainsAny(c.Audience, " \t\r\n") {
		bad("BATON_AUDIENCE", "must not contain spaces")
	}
	switch {
	case c.IsSQLite() && strings.TrimPrefix(strings.TrimPrefix(c.DatabaseURL, "sqlite:"), "//") == "":
		bad("BATON_DATABASE_URL", "sqlite: needs a file path, as in sqlite:baton.db")
	case !c.IsSQLite() && !c.IsPostgres():
		bad("BATON_DATABASE_URL", "want sqlite:PATH or postgres://…")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"BATON_ACCESS_TOKEN_TTL", c.AccessTokenTTL},
		{"BATON_REFRESH_IDLE_TTL", c.RefreshIdleTTL},
		{"BATON_SESSION_MAX_TTL", c.SessionMaxTTL},
		{"BATON_KEY_ROTATION_PERIOD", c.KeyRotationPeriod},
		{"BATON_JWKS_MAX_AGE", c.JWKSMaxAge},
		{"BATON_AUDIT_RETENTION", c.AuditRetention},
	} {
		if d.v <= 0 {
			bad(d.name, "must be positive")
		}
	}
	if c.AccessTokenTTL > 0 && c.SessionMaxTTL > 0 && c.AccessTokenTTL > c.SessionMaxTTL {
		bad("BATON_ACCESS_TOKEN_TTL", "must not exceed BATON_SESSION_MAX_TTL")
	}
	if c.RefreshReuseGrace < 0 {
		bad("BATON_REFRESH_REUSE_GRACE", "must not be negative")
	}
	if c.MaxSessionsPerUser < 0 {
		bad("BATON_MAX_SESSIONS_PER_USER", "must be 0 (unlimited) or more")
	}
	// The signing algorithm, the rotation rule and the KEK's encoding are
	// keys' rules, checked through Load's checks.
	if c.KEK == "" && c.IsPostgres() {
		bad("BATON_KEK", "required with Postgres (base64 of 32 random bytes)")
	}
	if c.AdminScope == "" || strings.ContainsFunc(c.AdminScope, func(r rune) bool { return r <= 0x20 || r == '"' || r == '\\' || r > 0x7e }) {
		bad("BATON_ADMIN_SCOPE", "%q is not a scope token", truncate(c.AdminScope))
	}
	if c.PprofAddr != "" {
		if host, _, err := net.SplitHostPort(c.PprofAddr); err != nil || (host != "localhost" && !isLoopback(host)) {
			bad("BATON_PPROF_ADDR", "%q must be a loopback host:port", truncate(c.PprofAddr))
		}
	}
	errs = append(errs, c.validateInternal()...)
	for _, p := range c.Proxies() {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("BATON_TRUSTED_PROXIES", "%q is not an IP address or CIDR", truncate(p))
		}
	}
	if _, err := c.MemoryLimitBytes(); err != nil {
		bad("BATON_MEMORY_LIMIT", "%v", err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("BATON_LOG_FORMAT", "%q is not json or text", truncate(c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("BATON_LOG_LEVEL", "%q is not debug, info, warn or error", truncate(c.LogLevel))
	}
	return errors.Join(errs...)
}

// validateInternal checks the internal listener (issue 16): a host:port of
// its own; the admin API moves there only if it exists.
func (c Config) validateInternal() []error {
	var errs []error
	if c.InternalAddr != "" {
		if _, port, err := net.SplitHostPort(c.InternalAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("BATON_INTERNAL_ADDR: %q is not host:port", truncate(c.InternalAddr)))
		} else if c.InternalAddr == c.Addr || c.InternalAddr == c.PprofAddr {
			errs = append(errs, fmt.Errorf("BATON_INTERNAL_ADDR: %q is already BATON_ADDR or BATON_PPROF_ADDR", truncate(c.InternalAddr)))
		}
	}
	if c.InternalAdmin && c.InternalAddr == "" {
		errs = append(errs, errors.New("BATON_INTERNAL_ADMIN: needs BATON_INTERNAL_ADDR (the listener the admin API moves to)"))
	}
	return errs
}

// checkIssuer requires an absolute URL without query or fragment; plain
// http only on loopback hosts (RFC 8414 §2 wants https).
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", truncate(s))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must not have a query, fragment or user info", truncate(s))
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q: http is allowed only for localhost; use https", truncate(s))
		}
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
