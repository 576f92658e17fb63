package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/internal/clocktest"
	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

const (
	password = "correct horse battery"
	secret   = "s3cret-s3cret-s3cret"
)

// server is baton's router on a real listener over a real store.
type server struct {
	*httptest.Server
	store   storetest.Store
	ring    *keys.Ring
	svc     *oauth.Server
	clock   *clocktest.Clock // the ring's clock, so tests can age the keys
	metrics *handlers.Metrics
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newServer(t *testing.T, store storetest.Store) *server {
	t.Helper()
	return newServerWith(t, store, func(*oauth.Options) {})
}

// newServerWith lets a test change the protocol options.
func newServerWith(t *testing.T, store storetest.Store, edit func(*oauth.Options)) *server {
	t.Helper()
	return newServerConfig(t, store, edit, func(*handlers.Config) {})
}

// newServerConfig lets a test change the protocol options and the router's
// configuration (its logger, trusted proxies).
func newServerConfig(t *testing.T, store storetest.Store, edit func(*oauth.Options), editCfg func(*handlers.Config)) *server {
	t.Helper()
	log := quiet()
	c := clocktest.New(time.Now())
	ring, err := keys.NewRing(store, keys.Options{
		Alg: "ES256", KEK: make([]byte, 32), RotationPeriod: 24 * time.Hour,
		JWKSMaxAge: 10 * time.Minute, TokenTTL: 15 * time.Minute,
	}, c.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := &server{store: store, ring: ring, clock: c, metrics: handlers.NewMetrics(func() float64 { return ring.ActiveKeyAge().Seconds() })}
	s.Server = httptest.NewUnstartedServer(nil)
	issuer := "http://" + s.Listener.Addr().String()
	opts := oauth.Options{
		Issuer: issuer, AccessTokenTTL: 15 * time.Minute, RefreshIdleTTL: time.Hour,
		SessionMaxTTL: 24 * time.Hour, RefreshReuseGrace: 10 * time.Second,
		Argon2: oauth.Argon2Params{Memory: 64, Time: 1, Threads: 1},
	}
	opts.Metrics = s.metrics
	edit(&opts)
	s.svc, err = oauth.NewServer(store, ring, opts, time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := handlers.Config{
		Tokens: s.svc.Tokens, Authorizations: s.svc.Authorizations, Admin: s.svc.Admin, Keys: ring, Rotator: ring, AdminScope: "admin", Issuer: issuer, Metrics: s.metrics, JWKSMaxAge: 10 * time.Minute,
		Ready: store.Ping, Log: log,
	}
	editCfg(&cfg)
	h, err := handlers.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Config.Handler = h
	s.Start()
	t.Cleanup(s.Close)

	ctx := t.Context()
	if _, err := s.svc.Admin.AddUser(ctx, "alice", password); err != nil {
		t.Fatal(err)
	}
	for _, c := range []oauth.ClientSpec{
		{ID: "spa", Public: true, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}},
		{ID: "backend", Secret: secret, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}},
		{ID: "worker", Secret: secret, Grants: []string{"client_credentials"}, Scopes: []string{"jobs"}},
		{ID: "ops", Secret: secret, Grants: []string{"client_credentials", "password", "refresh_token"}, Scopes: []string{"admin"}},
	} {
		if _, err := s.svc.Admin.AddClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func sqliteServer(t *testing.T) *server { return newServer(t, gormtest.OpenSQLite(t)) }

// do sends a request and returns the response with its body read.
func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req.WithContext(context.WithoutCancel(t.Context())))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
