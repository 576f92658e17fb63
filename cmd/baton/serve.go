package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"sync"
	"time"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/oauth/resource"
	"github.com/batonhq/baton/web"
)

type serveCmd struct{}

// serveGCPercent is the garbage collector's target for the server unless
// GOGC is set. baton's heap in use is small (about 10 MiB under load) and
// nearly everything a request allocates is garbage when it ends. Under
// client_credentials at concurrency 8, Go's default of 100 collected 33
// times a second and its mark workers took 7 % of the server's CPU; 400
// collected 8 times a second, for 1.5 %. client_credentials went from
// 0.38-0.39 to 0.45-0.48 of a bare net/http handler (two pairs,
// docs/PERFORMANCE.md), for a resident set of 51-62 MiB after a minute of
// refreshes at c=32.
const serveGCPercent = 400

// Run starts the server: migrate, load keys, serve until the context ends.
func (serveCmd) Run(e *env) error {
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	a, err := open(e)
	if err != nil {
		return err
	}
	defer a.Close()
	var ring *keys.Ring
	metrics := handlers.NewMetrics(func() float64 { return ring.ActiveKeyAge().Seconds() })
	v, c, _ := buildInfo()
	metrics.SetBuildInfo(v, c) // as `baton version` prints them
	metrics.WatchDatabase(a.store)
	ring, err = a.ringWith(e.ctx, metrics.KeyRotated)
	if err != nil {
		return err
	}
	svc, err := a.serviceWith(ring, metrics)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("BATON_ADDR: listen: %w", err)
	}
	defer ln.Close()
	demo, err := a.demo(e.ctx, ln.Addr())
	if err != nil {
		return err
	}
	hcfg := handlers.Config{
		Service:        svc,
		Keys:           ring,
		Rotator:        ring,
		AdminScope:     a.cfg.AdminScope,
		Issuer:         a.cfg.Issuer,
		JWKSMaxAge:     a.cfg.JWKSMaxAge,
		Ready:          func(ctx context.Context) error { return readiness(ctx, a, ring) },
		Metrics:        metrics,
		Log:            a.log,
		Demo:           demo,
		TrustedProxies: a.cfg.Proxies(),
		Internal:       a.cfg.InternalAddr != "",
		InternalAdmin:  a.cfg.InternalAdmin,
	}
	router, err := handlers.NewRouter(hcfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	internal, err := a.serveInternal(ctx, hcfg)
	if err != nil {
		return err
	}
	defer func() { cancel(); internal.Wait() }()
	if a.cfg.PprofAddr != "" {
		go servePprof(ctx, a.cfg.PprofAddr, a.log)
	}
	go ring.Run(ctx)
	go svc.Run(ctx, time.Minute)
	a.log.Info("baton listening", "addr", ln.Addr().String(), "issuer", a.cfg.Issuer)
	if err := handlers.Serve(ctx, ln, router, a.log); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// serveInternal starts the internal listener (BATON_INTERNAL_ADDR), if
// configured, until ctx ends: /metrics and, with BATON_INTERNAL_ADMIN, the
// admin API. Wait for it to finish before the store closes.
func (a *app) serveInternal(ctx context.Context, cfg handlers.Config) (*sync.WaitGroup, error) {
	var wg sync.WaitGroup
	if a.cfg.InternalAddr == "" {
		return &wg, nil
	}
	h, err := handlers.NewInternalRouter(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a.cfg.InternalAddr)
	if err != nil {
		return nil, fmt.Errorf("BATON_INTERNAL_ADDR: listen: %w", err)
	}
	a.log.Info("baton internal listener", "addr", ln.Addr().String(), "admin_api", a.cfg.InternalAdmin)
	wg.Go(func() {
		if err := handlers.Serve(ctx, ln, h, a.log); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("internal listener", "err", err)
		}
	})
	return &wg, nil
}

// readiness reports whether this instance can issue tokens: the database
// answers and a signing key is loaded.
func readiness(ctx context.Context, a *app, ring *keys.Ring) error {
	if ring.ActiveKeyID() == "" {
		return errors.New("no active signing key")
	}
	return a.store.Ping(ctx)
}

// demo builds the demo page when BATON_DEMO is on. Its API verifies tokens
// as any resource server would, fetching the JWKS from this very server.
func (a *app) demo(ctx context.Context, addr net.Addr) (*handlers.Demo, error) {
	if !a.cfg.Demo {
		return nil, nil
	}
	port := addr.(*net.TCPAddr).Port
	v, err := resource.NewVerifier(ctx, resource.Config{
		Issuer:   a.cfg.Issuer,
		Audience: a.cfg.TokenAudience(),
		JWKSURL:  fmt.Sprintf("http://127.0.0.1:%d/.well-known/jwks.json", port),
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	a.log.Warn("BATON_DEMO is on: the demo page is served at /demo/; turn it off in production")
	return &handlers.Demo{Files: web.Files, Verifier: v}, nil
}

type migrateCmd struct{}

// Run applies the schema migrations (open does) and reports them.
func (migrateCmd) Run(e *env) error {
	a, err := open(e)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintln(e.stdout, "schema is up to date")
	return nil
}

// servePprof serves net/http/pprof on a loopback address of its own.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Warn("pprof is on", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("pprof", "err", err)
	}
}
