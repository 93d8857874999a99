package caddymodule

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// pools keeps one pool runtime per Bee node across config reloads: a reload finds the running
// pool, reconfigures it and keeps its purchaser, ledger and in-flight purchases.
var pools = caddy.NewUsagePool()

// poolRuntime is what the usage pool holds; it stops the pool when the last config using it
// is cleaned up.
type poolRuntime struct {
	pool *pool.Pool
}

func (rt *poolRuntime) Destruct() error {
	rt.pool.Stop()
	return nil
}

func poolKey(beeURL string) string { return "bee-pool:" + beeURL }

// provisionPool starts or joins the pool runtime for this handler's Bee node.
func (h *Handler) provisionPool(ctx caddy.Context) error {
	if h.Pool == nil {
		return nil
	}
	if h.BeeURL == "" {
		return fmt.Errorf("pool needs bee_url, the Bee API the pool buys from")
	}
	cfg, err := h.Pool.poolConfig()
	if err != nil {
		return err
	}
	key := poolKey(h.BeeURL)
	storage := ctx.Storage()
	val, loaded, err := pools.LoadOrNew(key, func() (caddy.Destructor, error) {
		client, err := bee.New(h.BeeURL, bee.Options{PurchaseTimeout: cfg.PurchaseTimeout, UserAgent: "caddy-bee"})
		if err != nil {
			return nil, fmt.Errorf("bee client: %w", err)
		}
		p, err := pool.New(cfg, pool.Deps{
			Bee:      client,
			Storage:  storage,
			NodeKey:  h.BeeURL,
			Logger:   caddy.Log().Named("bee.pool"),
			Observer: poolMetrics{},
		})
		if err != nil {
			return nil, err
		}
		p.Start()
		return &poolRuntime{pool: p}, nil
	})
	if err != nil {
		return fmt.Errorf("start stamp pool for %s: %w", h.BeeURL, err)
	}
	h.poolKey = key
	h.pool = val.(*poolRuntime).pool
	if loaded {
		if err := h.pool.Reconfigure(cfg); err != nil {
			return fmt.Errorf("reconfigure stamp pool for %s: %w", h.BeeURL, err)
		}
		h.logger.Info("stamp pool kept across reload", zap.String("bee", h.BeeURL))
	}
	return nil
}

// releasePool gives back only what provisionPool took. h.pool stays set: on a reload Caddy
// cleans up the old handler while its server may still be finishing requests, which go on
// using the pool (the race detector caught the old version clearing it under them).
func (h *Handler) releasePool() {
	if h.poolKey == "" {
		return
	}
	if _, err := pools.Delete(h.poolKey); err != nil {
		h.logger.Error("releasing stamp pool", zap.Error(err))
	}
	h.poolKey = ""
}

func (h *Handler) stampPool() *pool.Pool { return h.pool }

func (h *Handler) injecting() bool {
	return h.pool != nil && (h.Inject == nil || *h.Inject)
}

func (h *Handler) acquireFallback() bool {
	return h.Pool == nil || h.Pool.AcquireFallback == nil || *h.Pool.AcquireFallback
}

func (h *Handler) configuredSizes() string {
	cfg, err := h.Pool.poolConfig()
	if err != nil {
		return "the configured depths"
	}
	var names []string
	depths := make([]int, 0, len(cfg.Reserve))
	for d := range cfg.Reserve {
		depths = append(depths, d)
	}
	sort.Ints(depths)
	for _, d := range depths {
		if name := pool.SizeName(d); name != "" {
			names = append(names, fmt.Sprintf("%q or depth %d", name, d))
		} else {
			names = append(names, fmt.Sprintf("depth %d", d))
		}
	}
	return strings.Join(names, ", ")
}

// poolConfig turns the JSON configuration into the pool's, with SPEC defaults.
func (c *PoolConfig) poolConfig() (pool.Config, error) {
	cfg := pool.DefaultConfig()
	if len(c.Reserve) > 0 {
		if err := validateReserve(c.Reserve); err != nil {
			return cfg, err
		}
		cfg.Reserve = map[int]int{}
		for d, n := range c.Reserve {
			cfg.Reserve[d] = n
		}
	}
	setDuration := func(dst *time.Duration, v caddy.Duration) {
		if v != 0 {
			*dst = time.Duration(v)
		}
	}
	setDuration(&cfg.Duration, c.Duration)
	setDuration(&cfg.MinTTL, c.MinTTL)
	setDuration(&cfg.TopUp, c.TopUp)
	setDuration(&cfg.CheckInterval, c.CheckInterval)
	setDuration(&cfg.PurchaseSpacing, c.PurchaseSpacing)
	setDuration(&cfg.BlockTime, c.BlockTime)
	cfg.BlockTimeConfigured = c.BlockTime != 0
	setDuration(&cfg.PurchaseTimeout, c.PurchaseTimeout)
	setDuration(&cfg.BackoffBase, c.PurchaseBackoff)
	if c.ImmediateReplenish != nil {
		cfg.ImmediateReplenish = *c.ImmediateReplenish
	}
	if c.AcquireFallback != nil {
		cfg.AcquireFallback = *c.AcquireFallback
	}
	if c.UsageMax != 0 {
		cfg.UsageMax = c.UsageMax
	}
	if c.MaxPurchasesPerHour != nil {
		cfg.MaxPurchasesPerHour = *c.MaxPurchasesPerHour
	}
	if c.LabelPrefix != "" {
		cfg.LabelPrefix = c.LabelPrefix
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("pool: %w", err)
	}
	return cfg, nil
}
