package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batonhq/baton/oauth"
)

// Metrics are baton's Prometheus metrics, in a registry of their own. They
// implement oauth.Metrics for the protocol's events.
type Metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	tokens        *prometheus.CounterVec
	tokenErrors   *prometheus.CounterVec
	rotations     prometheus.Counter
	graceReplays  prometheus.Counter
	reuse         prometheus.Counter
	sessionsEnded *prometheus.CounterVec
	throttled     prometheus.Counter
	dbUnavailable prometheus.Counter
	keyRotations  prometheus.Counter
	hashWait      prometheus.Histogram
}

var _ oauth.Metrics = (*Metrics)(nil)

// NewMetrics registers every metric; activeKeyAge reports the age of the
// signing key in seconds.
func NewMetrics(activeKeyAge func() float64) *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string) prometheus.Counter {
		return register(r, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return register(r, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
	}
	register(r, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "baton_active_key_age_seconds",
		Help: "Age of the signing key in use, since it became active."}, activeKeyAge))
	return &Metrics{
		registry: r,
		requests: counterVec("baton_http_requests_total", "HTTP requests by route, method and status code.",
			"route", "method", "code"),
		latency: register(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "baton_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
			[]string{"route"})),
		tokens:      counterVec("baton_tokens_issued_total", "Token responses issued, by grant type.", "grant_type"),
		tokenErrors: counterVec("baton_token_errors_total", "Token requests refused, by grant type and OAuth error.", "grant_type", "error"),
		rotations:   counter("baton_refresh_rotations_total", "Refresh tokens rotated."),
		graceReplays: counter("baton_refresh_grace_replays_total",
			"Spent refresh tokens presented within the grace window, answered with the same successor."),
		reuse: counter("baton_refresh_reuse_detections_total",
			"Spent refresh tokens presented outside the grace window: sessions revoked."),
		sessionsEnded: counterVec("baton_sessions_ended_total", "Sessions ended, by reason.", "reason"),
		hashWait: register(r, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "baton_hash_wait_seconds",
			Help:    "How long password and client-secret hashes waited for a slot of the hashing budget.",
			Buckets: []float64{.001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10}})),
		throttled:     counter("baton_login_throttled_total", "Password logins and client secrets refused by the throttle (429)."),
		dbUnavailable: counter("baton_database_unavailable_total", "Requests answered 503 because the database was unreachable."),
		keyRotations:  counter("baton_key_rotations_total", "Signing-key rotations this instance performed."),
	}
}

// register adds c to r and returns it.
func register[C prometheus.Collector](r *prometheus.Registry, c C) C {
	r.MustRegister(c)
	return c
}

func (m *Metrics) TokenIssued(grant string) { m.tokens.WithLabelValues(grant).Inc() }
func (m *Metrics) TokenRefused(grant, code string) {
	m.tokenErrors.WithLabelValues(grant, code).Inc()
}
func (m *Metrics) RefreshRotated() { m.rotations.Inc() }
func (m *Metrics) GraceReplay()    { m.graceReplays.Inc() }
func (m *Metrics) ReuseDetected()  { m.reuse.Inc() }
func (m *Metrics) SessionsEnded(reason string, n int) {
	if n > 0 {
		m.sessionsEnded.WithLabelValues(reason).Add(float64(n))
	}
}
func (m *Metrics) LoginThrottled() { m.throttled.Inc() }

// HashWaited observes a hash's wait for its slot.
func (m *Metrics) HashWaited(d time.Duration) { m.hashWait.Observe(d.Seconds()) }

// KeyRotated counts a rotation this instance performed.
func (m *Metrics) KeyRotated() { m.keyRotations.Inc() }

// handler serves GET /metrics.
func (m *Metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// observe counts every request by route and status, and its latency.
func (m *Metrics) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, methodLabel(c.Request.Method), strconv.Itoa(c.Writer.Status())).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if c.Writer.Status() == http.StatusServiceUnavailable && c.GetBool(dbDownKey) {
			m.dbUnavailable.Inc()
		}
	}
}

// methodLabel is the method as a metrics label or log field: a standard
// method (RFC 9110 §9, RFC 5789) by its name, any other as "other", so that
// made-up methods cannot add series or long log lines.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// dbDownKey marks a request answered 503 for an unreachable database.
const dbDownKey = "baton.db_unavailable"
