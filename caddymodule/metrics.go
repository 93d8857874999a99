package caddymodule

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmgate/caddy-bee/internal/cache"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
)

// scrapedState are the collectors that read this package's process-wide state at scrape time.
var scrapedState = []prometheus.Collector{
	beemetrics.ReplayHeld(replayMemory.Held),
	beemetrics.CacheTiers(func(each func(*cache.Cache)) {
		liveCaches.Range(func(c, _ any) bool { each(c.(*cache.Cache)); return true })
	}),
}

// registerMetrics adds every collector (internal/metrics) to a config's registry.
func registerMetrics(registry prometheus.Registerer) error {
	return beemetrics.Register(registry, scrapedState...)
}
