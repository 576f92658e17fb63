package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/batonhq/baton/configs"
	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/oauth"
)

// app is the configuration, logger and store every command starts from.
type app struct {
	cfg   configs.Config
	log   *slog.Logger
	store *gormstore.Store
	now   func() time.Time
}

// open loads the configuration, opens the database and migrates it.
func open(e *env) (*app, error) {
	cfg, err := loadConfig(e.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, e.Stderr)
	store, err := gormstore.Open(e.Ctx, cfg.DatabaseURL, log)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if _, err := store.Migrate(e.Ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return &app{cfg: cfg, log: log, store: store, now: e.now}, nil
}

func (a *app) Close() { a.store.Close() }

// loadConfig loads the configuration with the rules of keys, whose options
// cmd maps from it.
func loadConfig(getenv func(string) string) (configs.Config, error) {
	return configs.Load(getenv, checkKeyConfig)
}

// checkKeyConfig checks the signing settings by keys' rules and names the
// variable of each failure.
func checkKeyConfig(c configs.Config) error {
	var errs []error
	if err := keys.CheckAlg(c.SigningAlg); err != nil {
		errs = append(errs, fmt.Errorf("BATON_SIGNING_ALG: %w", err))
	}
	if c.JWKSMaxAge > 0 { // a non-positive max-age is reported by configs
		if err := keys.CheckRotation(c.KeyRotationPeriod, c.JWKSMaxAge); err != nil {
			errs = append(errs, fmt.Errorf("BATON_KEY_ROTATION_PERIOD and BATON_JWKS_MAX_AGE: %w", err))
		}
	}
	if c.KEK != "" {
		if _, err := keys.ParseKEK(c.KEK); err != nil {
			errs = append(errs, fmt.Errorf("BATON_KEK: %w", err))
		}
	}
	return errors.Join(errs...)
}

// keysError names the variable behind an error of keys.
func keysError(err error, cfg configs.Config) error {
	switch {
	case errors.Is(err, keys.ErrWrongKEK):
		return fmt.Errorf("BATON_KEK: %w", err)
	case errors.Is(err, keys.ErrTooEarly):
		return fmt.Errorf("%w; BATON_JWKS_MAX_AGE is %s", err, cfg.JWKSMaxAge)
	}
	return err
}

func newLogger(cfg configs.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by configs
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(handlers.LogHandler(slog.NewTextHandler(w, opts)))
	}
	return slog.New(handlers.LogHandler(slog.NewJSONHandler(w, opts)))
}

// withApp opens the database, runs fn and closes the store.
func withApp(e *env, fn func(*app) error) error {
	a, err := open(e)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// adminDo opens the database and runs op with the administration for the
// account and session commands; when op succeeds, it prints the line op
// returns.
func adminDo(e *env, op func(*oauth.Admin) (string, error)) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		done, err := op(svc)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, done)
		return nil
	})
}

// withAdmin opens the database and runs fn with the administration for
// the account and session commands (no signing keys needed).
func withAdmin(e *env, fn func(*oauth.Admin) error) error {
	return withShared(e, func(a *app, sh *oauth.Shared) error { return fn(oauth.NewAdmin(a.store, sh)) })
}

// withShared opens the database and runs fn with the shared oauth pieces
// of a command (no signing keys).
func withShared(e *env, fn func(*app, *oauth.Shared) error) error {
	return withApp(e, func(a *app) error {
		opts, err := a.options(false)
		if err != nil {
			return err
		}
		sh, err := oauth.NewShared(a.store, opts, a.now, a.log)
		if err != nil {
			return err
		}
		return fn(a, sh)
	})
}

// withRing opens the database, loads the signing keys and runs fn.
func withRing(e *env, fn func(*app, *keys.Ring) error) error {
	return withApp(e, func(a *app) error {
		ring, err := a.ring(e.Ctx)
		if err != nil {
			return err
		}
		return fn(a, ring)
	})
}

// server builds the oauth types of `baton serve`, feeding the metrics;
// edit, when not nil, changes the options first.
func (a *app) server(keys oauth.Keys, metrics oauth.Metrics, edit func(*oauth.Options)) (*oauth.Server, error) {
	opts, err := a.options(true)
	if err != nil {
		return nil, err
	}
	opts.Metrics = metrics
	if edit != nil {
		edit(&opts)
	}
	return oauth.NewServer(a.store, keys, opts, a.now, a.log)
}

// options copies the configuration into oauth.Options; serving adds the
// keys derived from the KEK.
func (a *app) options(serving bool) (oauth.Options, error) {
	var pageKey, refreshKey []byte
	if serving { // the pages' CSRF key and the refresh tokens' MAC key, shared by every instance
		kek, err := a.kek()
		if err != nil {
			return oauth.Options{}, err
		}
		if pageKey, err = hkdf.Key(sha256.New, kek, nil, "baton page key v1", 32); err != nil {
			return oauth.Options{}, fmt.Errorf("derive page key: %w", err)
		}
		if refreshKey, err = hkdf.Key(sha256.New, kek, nil, "baton refresh v1", 32); err != nil {
			return oauth.Options{}, fmt.Errorf("derive refresh key: %w", err)
		}
	}
	opts := oauth.Options{
		PageKey:            pageKey,
		RefreshKey:         refreshKey,
		Issuer:             a.cfg.Issuer,
		Audience:           a.cfg.TokenAudience(),
		AccessTokenTTL:     a.cfg.AccessTokenTTL,
		RefreshIdleTTL:     a.cfg.RefreshIdleTTL,
		SessionMaxTTL:      a.cfg.SessionMaxTTL,
		RefreshReuseGrace:  a.cfg.RefreshReuseGrace,
		MaxSessionsPerUser: a.cfg.MaxSessionsPerUser,
		AdminScope:         a.cfg.AdminScope,
		AuditRetention:     a.cfg.AuditRetention,
	}
	return opts, nil
}

// ring loads the signing keys, creating the first ones on a new database.
func (a *app) ring(ctx context.Context) (*keys.Ring, error) {
	return a.ringWith(ctx, nil)
}

// ringWith loads the keys and calls onRotate after each rotation it performs.
func (a *app) ringWith(ctx context.Context, onRotate func()) (*keys.Ring, error) {
	kek, err := a.kek()
	if err != nil {
		return nil, err
	}
	ring, err := keys.NewRing(a.store, keys.Options{
		Alg:            a.cfg.SigningAlg,
		KEK:            kek,
		RotationPeriod: a.cfg.KeyRotationPeriod,
		JWKSMaxAge:     a.cfg.JWKSMaxAge,
		TokenTTL:       a.cfg.AccessTokenTTL,
		OnRotate:       onRotate,
	}, a.now, a.log)
	if err != nil {
		return nil, err
	}
	if err := ring.Init(ctx); err != nil {
		return nil, keysError(err, a.cfg)
	}
	return ring, nil
}

// kek returns BATON_KEK or, with SQLite and no KEK configured, the key kept
// in a file beside the database, generated on first use (SPEC §1).
func (a *app) kek() ([]byte, error) {
	if a.cfg.KEK != "" {
		k, err := keys.ParseKEK(a.cfg.KEK)
		if err != nil {
			return nil, fmt.Errorf("BATON_KEK: %w", err)
		}
		return k, nil
	}
	path, ok := gormstore.SQLiteFile(a.cfg.DatabaseURL)
	if !ok {
		return nil, errors.New("BATON_KEK is required with Postgres")
	}
	return localKEK(path+".kek", a.log)
}

func localKEK(path string, log *slog.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := keys.ParseKEK(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	k, err := keys.GenerateKEK()
	if err != nil {
		return nil, err
	}
	err = writeNewFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"))
	if errors.Is(err, fs.ErrExist) {
		return localKEK(path, log) // another process created it first
	}
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	log.Warn("BATON_KEK is not set: generated a key-encryption key beside the SQLite database; set BATON_KEK in production", "file", abs)
	return k, nil
}

// writeNewFile creates path with mode 0600 atomically: the data is written
// to a temporary file that is then linked into place, which fails if path
// exists. A concurrent process that lost the race reads the winner's key.
func writeNewFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kek-*")
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	return nil
}
