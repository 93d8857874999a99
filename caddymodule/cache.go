package caddymodule

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/cache"
)

// CacheConfig configures the content cache of immutable answers (GET/HEAD of a hex
// reference on /bytes, /bzz and /chunks).
type CacheConfig struct {
	// Disabled turns the cache off. Immutable answers still carry
	// `Cache-Control: public, max-age=31536000, immutable`.
	Disabled bool `json:"disabled,omitempty"`

	// Memory bounds the memory tier in bytes. Default: 64 MiB.
	Memory int64 `json:"memory,omitempty"`

	// Disk bounds the disk tier in bytes; 0 (the default) means no disk tier. Needs Dir.
	Disk int64 `json:"disk,omitempty"`

	// Dir is the disk tier's directory. Its entries survive reloads and restarts.
	Dir string `json:"dir,omitempty"`
}

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

func (c *CacheConfig) sizes() (memory, disk int64) {
	memory = cache.DefaultMemory
	if c != nil {
		if c.Memory > 0 {
			memory = c.Memory
		}
		disk = c.Disk
	}
	return memory, disk
}

func (c *CacheConfig) validate() error {
	if c == nil || c.Disabled {
		return nil
	}
	return cache.CheckSizes(c.Memory, c.Disk, c.Dir)
}

// provisionCache starts or joins the content cache.
func (h *Handler) provisionCache() error {
	if h.Cache != nil && h.Cache.Disabled {
		return nil
	}
	memory, disk := h.Cache.sizes()
	dir := ""
	if disk > 0 {
		dir = h.Cache.Dir
	}
	key := "bee-cache:disk=" + dir
	val, loaded, err := caches.LoadOrNew(key, func() (caddy.Destructor, error) {
		c, err := cache.New(cache.Options{
			Memory: memory, Disk: disk, Dir: dir,
			Logger: caddy.Log().Named("bee.cache"), Observer: cacheMetrics{},
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

// serveCacheAPI is GET <api_prefix>/cache (stats) and DELETE <api_prefix>/cache/{ref} (admin
// token): remove every entry of a reference, e.g. for moderation.
func (h *Handler) serveCacheAPI(w http.ResponseWriter, r *http.Request, endpoint string) error {
	if endpoint == "/cache" {
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return nil
		}
		return writeJSON(w, http.StatusOK, cache.StatsAnswer(h.cache))
	}
	ref := strings.TrimPrefix(endpoint, "/cache/")
	if !allowMethods(w, r, http.MethodDelete) || !h.requireToken(w, r) {
		return nil
	}
	answer, removed, err := cache.PurgeReference(h.cache, ref)
	if err != nil {
		return writeDetail(w, http.StatusBadRequest, err.Error())
	}
	h.logger.Info("content cache purge", zap.String("ref", ref), zap.Int("removed", removed))
	return writeJSON(w, http.StatusOK, answer)
}

// unmarshalCache parses `cache off` or `cache { memory <size> disk <size> dir <path> }`.
func (h *Handler) unmarshalCache(d *caddyfile.Dispenser) error {
	if h.Cache != nil {
		return d.Errf("cache: declared twice")
	}
	h.Cache = new(CacheConfig)
	if d.NextArg() {
		switch d.Val() {
		case "off":
			h.Cache.Disabled = true
		case "on":
		default:
			return d.Errf("cache %q: want on, off or a block", d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		var value string
		if err := singleArg(d, "cache "+option, &value); err != nil {
			return err
		}
		switch option {
		case "memory", "disk":
			size, err := humanize.ParseBytes(value)
			if err != nil || size > 1<<50 {
				return d.Errf("cache %s %q: want a size such as 64MiB or 10GiB", option, value)
			}
			if option == "memory" {
				h.Cache.Memory = int64(size)
			} else {
				h.Cache.Disk = int64(size)
			}
		case "dir":
			h.Cache.Dir = value
		default:
			return d.Errf("unknown cache option %q: want memory, disk or dir", option)
		}
	}
	return nil
}
