package handlers

import (
	"database/sql"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// SetBuildInfo exposes baton_build_info{version,commit,go_version} 1, so
// that dashboards can tell which build each instance runs. Call it once.
func (m *Metrics) SetBuildInfo(version, commit string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "baton_build_info",
		Help:        "Always 1; the labels name the build: version and commit (set at link time) and Go version.",
		ConstLabels: prometheus.Labels{"version": orUnknown(version), "commit": orUnknown(commit), "go_version": runtime.Version()}})
	g.Set(1)
	m.registry.MustRegister(g)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// DBStats is what the pool metrics read: database/sql's statistics, which
// the store exposes without showing its driver or ORM.
type DBStats interface {
	Stats() sql.DBStats
}

// WatchHashQueue exposes baton_hash_queue_depth, the hashes waiting for a
// slot of the hashing budget, read from depth on each scrape. Call it once.
func (m *Metrics) WatchHashQueue(depth func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "baton_hash_queue_depth",
		Help: "Password and client-secret hashes waiting for a slot of the hashing budget now."}, depth))
}

// WatchDatabase exposes the store's connection pool, read on each scrape.
// Call it once.
func (m *Metrics) WatchDatabase(db DBStats) {
	m.registry.MustRegister(newPoolCollector(db))
}

// poolCollector reports sql.DBStats as baton_db_* metrics.
type poolCollector struct {
	db    DBStats
	stats []poolStat
}

type poolStat struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(sql.DBStats) float64
}

func newPoolCollector(db DBStats) *poolCollector {
	stat := func(name, help string, kind prometheus.ValueType, value func(sql.DBStats) float64) poolStat {
		return poolStat{prometheus.NewDesc(name, help, nil, nil), kind, value}
	}
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	return &poolCollector{db: db, stats: []poolStat{
		stat("baton_db_open_connections", "Connections to the database open now, in use or idle.", gauge,
			func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		stat("baton_db_in_use_connections", "Connections running a query or transaction now.", gauge,
			func(s sql.DBStats) float64 { return float64(s.InUse) }),
		stat("baton_db_idle_connections", "Open connections waiting for work.", gauge,
			func(s sql.DBStats) float64 { return float64(s.Idle) }),
		stat("baton_db_max_open_connections", "The pool's limit of open connections.", gauge,
			func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }),
		stat("baton_db_wait_count_total", "Times a query waited for a connection because the pool was full.", counter,
			func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		stat("baton_db_wait_duration_seconds_total", "Time spent waiting for a connection from a full pool.", counter,
			func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
	}}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range p.stats {
		ch <- s.desc
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := p.db.Stats()
	for _, s := range p.stats {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(st))
	}
}
