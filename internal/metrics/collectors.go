// Package metrics holds caddy-bee's Prometheus collectors and the observers that feed them
// from the pool, the coalescer, the cache and the injection path. Names and labels are part
// of the product contract (README, "Metrics"). The collectors are package-wide so that the
// pool and coalescer, which outlive a Caddy config reload, keep writing to them; every
// provision registers them with that config's registry.
package metrics

import (
	"errors"
	"math/big"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

var metrics = struct {
	poolLevel       *prometheus.GaugeVec
	poolTarget      *prometheus.GaugeVec
	purchases       *prometheus.CounterVec
	topUps          *prometheus.CounterVec
	spentBZZ        *prometheus.CounterVec
	acquires        *prometheus.CounterVec
	retired         *prometheus.CounterVec
	injections      *prometheus.CounterVec
	timeUntilUsable *prometheus.HistogramVec

	coalescerRequests *prometheus.CounterVec
	coalescerUpstream prometheus.Counter
	coalescerShared   prometheus.Counter
	coalescerTimeouts prometheus.Counter
	coalescerMemory   prometheus.Gauge
	coalescerSpill    prometheus.Gauge
	coalescerUnshared prometheus.Counter
	coalescerStalled  prometheus.Counter
}{
	poolLevel: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "batches",
		Help: "Pool batches per depth and state (reserve, pending, active).",
	}, []string{"depth", "state"}),
	poolTarget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "target",
		Help: "Configured reserve target per depth.",
	}, []string{"depth"}),
	purchases: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "purchases_total",
		Help: "Batch purchases by depth and result (ok, failed, timeout, adopted).",
	}, []string{"depth", "result"}),
	topUps: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "topups_total",
		Help: "Batch top-ups by depth and result.",
	}, []string{"depth", "result"}),
	spentBZZ: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "spent_bzz_total",
		Help: "BZZ spent on purchases and top-ups (amount x 2^depth PLUR / 1e16).",
	}, []string{"operation"}),
	acquires: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "acquires_total",
		Help: "Batches handed out through the acquire API, by depth and result.",
	}, []string{"depth", "result"}),
	retired: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "retired_total",
		Help: "Batches retired, by depth and reason.",
	}, []string{"depth", "reason"}),
	injections: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Name: "injections_total",
		Help: "Uploads that had a pool batch injected, by result (ok, retried, rejected: Bee named the batch, refused: Bee refused for another reason, unavailable).",
	}, []string{"result"}),
	timeUntilUsable: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "time_until_usable_seconds",
		Help:    "Time from purchase to a usable batch.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 240, 480, 960},
	}, []string{"depth"}),
	coalescerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "requests_total",
		Help: "GET/HEAD requests seen by the coalescer, by role (leader, follower, bypass).",
	}, []string{"role"}),
	coalescerUpstream: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "upstream_requests_total",
		Help: "Upstream requests made by coalesced flights.",
	}),
	coalescerShared: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "bytes_shared_total",
		Help: "Body bytes delivered to followers from a shared flight.",
	}),
	coalescerTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "wait_timeouts_total",
		Help: "Followers that gave up waiting for headers (max_wait) and joined the one retry flight.",
	}),
	coalescerMemory: prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "memory_bytes",
		Help: "Body bytes held in memory by coalesced flights (bounded by max_memory).",
	}),
	coalescerSpill: prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "spill_bytes",
		Help: "Body bytes in coalescer spill files on disk (bounded by max_spill).",
	}),
	coalescerUnshared: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "unshared_flights_total",
		Help: "Flights that stopped taking new waiters because max_memory or max_spill was reached.",
	}),
	coalescerStalled: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "coalescer", Name: "stalled_readers_cut_total",
		Help: "Clients cut for taking less than 1 MiB within stall_timeout.",
	}),
}

var allCollectors = []prometheus.Collector{
	metrics.poolLevel, metrics.poolTarget, metrics.purchases, metrics.topUps, metrics.spentBZZ,
	metrics.acquires, metrics.retired, metrics.injections, metrics.timeUntilUsable,
	metrics.coalescerRequests, metrics.coalescerUpstream, metrics.coalescerShared, metrics.coalescerTimeouts,
	metrics.coalescerMemory, metrics.coalescerSpill, metrics.coalescerUnshared, metrics.coalescerStalled,
}

var registerMu sync.Mutex

// Injections counts uploads that had a pool batch injected, by result.
var Injections = metrics.injections

// Register adds the collectors, and extra ones of the caller, to a config's registry; a
// registry that has them already (two bee handlers in one config) is fine.
func Register(registry prometheus.Registerer, extra ...prometheus.Collector) error {
	if registry == nil {
		return nil
	}
	registerMu.Lock()
	defer registerMu.Unlock()
	for _, c := range append(append([]prometheus.Collector{}, allCollectors...), extra...) {
		if err := registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return err
			}
		}
	}
	return nil
}

// plurToBZZ converts PLUR (1e-16 BZZ) to a float for metrics only; money math stays big.Int.
func plurToBZZ(plur *big.Int) float64 {
	if plur == nil {
		return 0
	}
	f, _ := new(big.Rat).SetFrac(plur, big.NewInt(1e16)).Float64()
	return f
}
