package caddymodule

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmgate/caddy-bee/internal/cache"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
)

// The collectors live in internal/metrics; these are the ones this package's request path
// counts on, and the two that read its process-wide state at scrape time.
var (
	metrics          = struct{ injections *prometheus.CounterVec }{beemetrics.Injections}
	replayNoRoom     = beemetrics.ReplayNoRoom
	uploadsIdleEnded = beemetrics.UploadsIdleEnded
	scrapedState     = []prometheus.Collector{
		beemetrics.ReplayHeld(replayMemory.Held),
		beemetrics.CacheTiers(func(each func(*cache.Cache)) {
			liveCaches.Range(func(c, _ any) bool { each(c.(*cache.Cache)); return true })
		}),
	}
)

// cacheMetrics is the cache's observer.
type cacheMetrics = beemetrics.Cache

// registerMetrics adds every collector to a config's registry.
func registerMetrics(registry prometheus.Registerer) error {
	return beemetrics.Register(registry, scrapedState...)
}
