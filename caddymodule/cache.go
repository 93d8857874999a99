package caddymodule

import (
	"fmt"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/caddyfileopts"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
)

// CacheConfig configures the content cache of immutable answers (internal/cache).
type CacheConfig = cache.Config

// caches keeps one content cache per tier layout across config reloads: a reload finds the
// cache with its entries (and its disk writes under way) and applies the new bounds. The
// bounds are process-wide: set them once, or the same on every bee handler.
var caches = caddy.NewUsagePool()

// liveCaches are the caches the metrics collector reports.
var liveCaches sync.Map // *cache.Cache -> struct{}

type cacheRuntime struct{ c *cache.Cache }

func (rt *cacheRuntime) Destruct() error {
	liveCaches.Delete(rt.c)
	rt.c.Close()
	return nil
}

// provisionCache starts or joins the content cache.
func (h *Handler) provisionCache() error {
	if h.Cache != nil && h.Cache.Disabled {
		return nil
	}
	memory, disk, dir := h.Cache.Tiers()
	key := "bee-cache:disk=" + dir
	val, loaded, err := caches.LoadOrNew(key, func() (caddy.Destructor, error) {
		c, err := cache.New(cache.Options{
			Memory: memory, Disk: disk, Dir: dir,
			Logger: caddy.Log().Named("bee.cache"), Observer: beemetrics.Cache{},
		})
		if err != nil {
			return nil, err
		}
		liveCaches.Store(c, struct{}{})
		return &cacheRuntime{c: c}, nil
	})
	if err != nil {
		return fmt.Errorf("content cache: %w", err)
	}
	h.cacheKey = key
	h.cache = val.(*cacheRuntime).c
	if loaded {
		h.cache.Resize(memory, disk)
	}
	return nil
}

// releaseCache gives back only what provisionCache took; h.cache stays set for requests the
// old config is still finishing.
func (h *Handler) releaseCache() {
	if h.cacheKey == "" {
		return
	}
	if _, err := caches.Delete(h.cacheKey); err != nil {
		h.logger.Error("releasing content cache", zap.Error(err))
	}
	h.cacheKey = ""
}

func (h *Handler) unmarshalCache(d *caddyfile.Dispenser) (err error) {
	if h.Cache != nil {
		return d.Errf("cache: declared twice")
	}
	h.Cache, err = caddyfileopts.Cache(d)
	return err
}
