package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmgate/caddy-bee/internal/cache"
)

// Content cache collectors, package-wide like the others (the cache outlives a reload).
var cacheCollectors = struct {
	requests   *prometheus.CounterVec
	savedBytes *prometheus.CounterVec
	admitted   *prometheus.CounterVec
	refused    *prometheus.CounterVec
}{
	requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "cache", Name: "requests_total",
		Help: "Content-addressed requests by result (hit_memory, hit_disk, miss).",
	}, []string{"result"}),
	savedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "cache", Name: "bee_bytes_saved_total",
		Help: "Body bytes answered from the cache instead of Bee, by tier.",
	}, []string{"tier"}),
	admitted: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "cache", Name: "admitted_total",
		Help: "Verified answers written to a tier (the tier's policy may still evict them at once).",
	}, []string{"tier"}),
	refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "cache", Name: "refused_total",
		Help: "Complete answers not admitted, by reason (unverified: bytes do not hash to the reference; disk_write).",
	}, []string{"reason"}),
}

var (
	cacheBytesDesc   = prometheus.NewDesc("caddy_bee_cache_bytes", "Bytes held per tier (memory, disk).", []string{"tier"}, nil)
	cacheEntriesDesc = prometheus.NewDesc("caddy_bee_cache_entries", "Entries per tier (memory, disk).", []string{"tier"}, nil)
	cacheMaxDesc     = prometheus.NewDesc("caddy_bee_cache_max_bytes", "Configured bound per tier.", []string{"tier"}, nil)
)

// CacheTiers reports the tier sizes of the live caches, which live calls each with, at
// scrape time.
func CacheTiers(live func(each func(*cache.Cache))) prometheus.Collector {
	return cacheTierCollector{live: live}
}

type cacheTierCollector struct {
	live func(each func(*cache.Cache))
}

func (cacheTierCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheBytesDesc
	ch <- cacheEntriesDesc
	ch <- cacheMaxDesc
}

func (t cacheTierCollector) Collect(ch chan<- prometheus.Metric) {
	var sum [2]cache.TierStats
	t.live(func(c *cache.Cache) {
		s := c.Stats()
		for i, t := range []cache.TierStats{s.Memory, s.Disk} {
			sum[i].Bytes += t.Bytes
			sum[i].Entries += t.Entries
			sum[i].MaxBytes += t.MaxBytes
		}
	})
	for i, tier := range []string{"memory", "disk"} {
		ch <- prometheus.MustNewConstMetric(cacheBytesDesc, prometheus.GaugeValue, float64(sum[i].Bytes), tier)
		ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(sum[i].Entries), tier)
		ch <- prometheus.MustNewConstMetric(cacheMaxDesc, prometheus.GaugeValue, float64(sum[i].MaxBytes), tier)
	}
}

// Cache feeds the collectors from the cache's events.
type Cache struct{}

// cacheMisses is the miss counter, looked up once: every cacheable request that misses
// counts in it.
var cacheMisses = cacheCollectors.requests.WithLabelValues("miss")

func (Cache) Hit(tier string, n int64) {
	cacheCollectors.requests.WithLabelValues("hit_" + tier).Inc()
	cacheCollectors.savedBytes.WithLabelValues(tier).Add(float64(n))
}
func (Cache) Miss()                 { cacheMisses.Inc() }
func (Cache) Admitted(tier string)  { cacheCollectors.admitted.WithLabelValues(tier).Inc() }
func (Cache) Refused(reason string) { cacheCollectors.refused.WithLabelValues(reason).Inc() }

func init() {
	allCollectors = append(allCollectors, cacheCollectors.requests, cacheCollectors.savedBytes, cacheCollectors.admitted, cacheCollectors.refused)
}
