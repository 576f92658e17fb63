package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/batonhq/baton/configs"
	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/oauth"
	"github.com/batonhq/baton/oauth/resource"
	"github.com/batonhq/baton/web"
)

type serveCmd struct{}

// Run starts the server: migrate, load keys, serve until the context ends.
func (serveCmd) Run(e *env) error {
	return withApp(e, func(a *app) error { return a.serve(e) })
}

// serve runs the server on the open app until the context ends.
func (a *app) serve(e *env) error {
	var ring *keys.Ring
	metrics := handlers.NewMetrics(func() float64 { return ring.ActiveKeyAge().Seconds() })
	v, c, _ := buildInfo()
	metrics.SetBuildInfo(v, c) // as `baton version` prints them
	metrics.WatchDatabase(a.store)
	ring, err := a.ringWith(e.Ctx, metrics.KeyRotated)
	if err != nil {
		return err
	}
	mem, err := planMemory(a.cfg, e.Getenv)
	if err != nil {
		return err
	}
	returner := &memoryReturner{every: returnMemoryEvery, free: debug.FreeOSMemory}
	svc, err := a.server(ring, metrics, func(o *oauth.Options) {
		o.HashMemory = mem.hashMemory
		o.HashIdle = returner.idle
		o.HashCollect = runtime.GC
	})
	if err != nil {
		return err
	}
	mem.apply(svc.Shared.Hasher(), a.log)
	metrics.WatchHashQueue(func() float64 { return float64(svc.Shared.Hasher().Waiting()) })
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("BATON_ADDR: listen: %w", err)
	}
	defer ln.Close()
	demo, err := a.demo(e.Ctx, ln.Addr())
	if err != nil {
		return err
	}
	hcfg := handlers.Config{
		Tokens:         svc.Tokens,
		Authorizations: svc.Authorizations,
		Admin:          svc.Admin,
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
	ctx, cancel := context.WithCancel(e.Ctx)
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
	go svc.Maintenance.Run(ctx, time.Minute)
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

// Memory (docs/PERFORMANCE.md, "Memory"). The hash slots bound how many
// argon2id hashes hold their memory cost at once, and the Go runtime's
// memory limit (debug.SetMemoryLimit) makes the collector free a finished
// hash's memory before the heap grows past memoryBase + slots × cost,
// whatever GOGC says. The resident set is then at most the binary's mapped
// code (memoryCode), that limit, and one more hash allocating while the
// collector frees the last: about idle + 32 MiB + (slots + 1) × cost.
//
// Unless GOGC is set, the collector runs only near the limit (GOGC=off)
// and after each hash (the hasher's collect hook, runtime.GC), before its
// slot takes the next: the next hash then reuses the pages the last one
// freed. A GC target instead (400 before) ran a collection during each
// hash, as the tiny live heap set a goal under one hash's size, and the
// runtime returned the freed pages to the system (to honour that goal and
// the limit), which the next hash faulted back in, slowing password logins
// (docs/PERFORMANCE.md, "Collecting after each hash"). Refreshes keep the
// few collections a target of 400 gave them: with about 10 MiB live, the
// heap grows to near the limit (42 MiB by default) between two.
//
// The Go limit is, in order: BATON_MEMORY_LIMIT (the container's size)
// less memoryCode and one hash; GOMEMLIMIT as the runtime reads it; or
// memoryBase + slots × cost. The slots are at most (limit − memoryBase) /
// cost, and start-up fails if not even one fits.
const (
	memoryBase = 32 << 20 // idle heap, requests in flight, the collector's slack
	memoryCode = 24 << 20 // the binary's code and data as mapped (RssFile)
)

// returnMemoryEvery is how often, at most, memory freed after a burst of
// hashes is returned to the system (debug.FreeOSMemory: a collection and a
// scavenge of the freed pages).
const returnMemoryEvery = 2 * time.Second

// memoryPlan is the memory limit baton runs under.
type memoryPlan struct {
	stated     int64  // BATON_MEMORY_LIMIT or GOMEMLIMIT; 0: neither
	source     string // the variable that set it, or "default"
	limit      int64  // the Go runtime's limit; 0: memoryBase + slots × cost, set by apply
	hashMemory int64  // bytes the hashes may hold; 0: as the CPU budget's slots need
	gcOff      bool   // GOGC is not set: collect near the limit and after each hash only
}

// planMemory reads the limit from BATON_MEMORY_LIMIT or GOMEMLIMIT (which
// the runtime has parsed already) and checks that it holds baton and one
// password hash.
func planMemory(cfg configs.Config, getenv func(string) string) (memoryPlan, error) {
	stated, err := cfg.MemoryLimitBytes() // validated by configs
	if err != nil {
		return memoryPlan{}, err
	}
	hashCost := int64(oauth.DefaultArgon2().Memory) << 10
	p := memoryPlan{stated: stated, source: "BATON_MEMORY_LIMIT", limit: stated - memoryCode - hashCost}
	outside := memoryCode + hashCost
	if stated == 0 && getenv("GOMEMLIMIT") != "" {
		p.stated, p.source = debug.SetMemoryLimit(-1), "GOMEMLIMIT"
		p.limit, outside = p.stated, 0
	}
	p.gcOff = getenv("GOGC") == ""
	if p.stated == 0 {
		return memoryPlan{source: "default", gcOff: p.gcOff}, nil
	}
	if need := outside + memoryBase + hashCost; p.stated < need {
		return memoryPlan{}, fmt.Errorf("%s: %d MiB does not hold baton and one password hash: it needs at least %d MiB",
			p.source, p.stated>>20, (need+1<<20-1)>>20)
	}
	p.hashMemory = p.limit - memoryBase
	return p, nil
}

// apply sets the runtime's memory limit (by default from the hasher's
// slots) and, unless GOGC is set, turns the GC target off; it logs both.
func (p *memoryPlan) apply(h *oauth.Hasher, log *slog.Logger) {
	hashKiB := int64(h.Params().Memory)
	if p.limit == 0 {
		p.limit = memoryBase + int64(h.Slots())*hashKiB<<10
	}
	debug.SetMemoryLimit(p.limit)
	if p.gcOff {
		debug.SetGCPercent(-1)
	}
	log.Info("memory limit", "source", p.source, "stated_bytes", p.stated, "memory_limit_bytes", p.limit,
		"memory_limit", fmt.Sprintf("%d MiB", p.limit>>20), "hash_slots", h.Slots(), "hash_memory_kib", hashKiB, "gc_percent", gcPercent())
}

// gcPercent reads the collector's target without changing it.
func gcPercent() int {
	v := debug.SetGCPercent(100)
	debug.SetGCPercent(v)
	return v
}

// memoryReturner returns freed memory to the system after the last hash of
// a burst: at most once per every, a call within that time deferred to its
// end, so that a run of bursts costs one collection per interval.
type memoryReturner struct {
	every   time.Duration
	free    func()
	mu      sync.Mutex
	last    time.Time
	pending bool
}

// idle is the hasher's idle hook.
func (r *memoryReturner) idle() {
	r.mu.Lock()
	if r.pending {
		r.mu.Unlock()
		return
	}
	wait := r.every - time.Since(r.last)
	if wait > 0 {
		r.pending = true
		r.mu.Unlock()
		time.AfterFunc(wait, func() {
			r.mu.Lock()
			r.pending = false
			r.mu.Unlock()
			r.idle()
		})
		return
	}
	r.last = time.Now()
	r.mu.Unlock()
	r.free()
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
	return withApp(e, func(*app) error {
		fmt.Fprintln(e.Stdout, "schema is up to date")
		return nil
	})
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
