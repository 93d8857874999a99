package caddymodule

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// pools keeps one pool runtime per Bee node across config reloads: a reload finds the running
// pool, reconfigures it and keeps its purchaser, ledger and in-flight purchases.
var pools = caddy.NewUsagePool()

// poolRuntime is what the usage pool holds; it stops the pool when the last config using it
// is cleaned up.
type poolRuntime struct {
	pool     *pool.Pool
	observer *beemetrics.PoolObserver
}

func (rt *poolRuntime) Destruct() error {
	rt.pool.Stop()
	return nil
}

func poolKey(beeURL string) string { return "bee-pool:" + beeURL }

// provisionPool starts or joins the pool runtime of each Bee node: the handler's node, or
// each node of the nodes list (with its own pool block, or the handler's). Each pool block is
// resolved once, here; it returns the resolved configuration the API names depths from: the
// handler's, else the first node's.
func (h *Handler) provisionPool(ctx caddy.Context) (*pool.Config, error) {
	var shared *pool.Config
	if h.Pool != nil {
		cfg, err := h.Pool.poolConfig()
		if err != nil {
			return nil, err
		}
		shared = &cfg
	}
	if !h.multiNode() {
		if shared == nil {
			return nil, nil
		}
		if h.BeeURL == "" {
			return nil, fmt.Errorf("pool needs bee_url, the Bee API the pool buys from")
		}
		p, key, err := h.startPool(ctx, h.BeeURL, "", *shared)
		if err != nil {
			return nil, err
		}
		h.pool, h.poolKey = p, key
		h.nodes = []*beeNode{{url: h.BeeURL, dial: dialAddress(h.BeeURL), cfg: h.Pool, pool: p}}
		return shared, nil
	}
	first := shared
	for _, nc := range h.Nodes {
		n := &beeNode{label: nc.Label, url: nc.URL, dial: dialAddress(nc.URL), cfg: nc.Pool}
		cfg := shared
		if n.cfg == nil {
			n.cfg = h.Pool
		} else {
			own, err := nc.Pool.poolConfig()
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", n.label, err)
			}
			cfg = &own
		}
		h.nodes = append(h.nodes, n)
		if cfg == nil {
			continue
		}
		if first == nil {
			first = cfg
		}
		p, key, err := h.startPool(ctx, n.url, n.label, *cfg)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.label, err)
		}
		n.pool, n.poolKey = p, key
	}
	return first, nil
}

// startPool starts or joins the pool runtime of the node at beeURL. Its ledger key is the
// node's URL, so a node keeps its ledger whether it is the only node or one of several.
func (h *Handler) startPool(ctx caddy.Context, beeURL, label string, cfg pool.Config) (*pool.Pool, string, error) {
	key := poolKey(beeURL)
	storage := ctx.Storage()
	logger := caddy.Log().Named("bee.pool")
	if label != "" {
		logger = logger.With(zap.String("node", label))
	}
	observer := new(beemetrics.PoolObserver)
	observer.SetNode(label)
	val, loaded, err := pools.LoadOrNew(key, func() (caddy.Destructor, error) {
		client, err := bee.New(beeURL, bee.Options{PurchaseTimeout: cfg.PurchaseTimeout, UserAgent: "caddy-bee"})
		if err != nil {
			return nil, fmt.Errorf("bee client: %w", err)
		}
		p, err := pool.New(cfg, pool.Deps{
			Bee:      client,
			Storage:  storage,
			NodeKey:  beeURL,
			Logger:   logger,
			Observer: observer,
		})
		if err != nil {
			return nil, err
		}
		p.Start()
		return &poolRuntime{pool: p, observer: observer}, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("start stamp pool for %s: %w", beeURL, err)
	}
	rt := val.(*poolRuntime)
	p := rt.pool
	rt.observer.SetNode(label) // a reload may label the node anew, or add nodes to it
	if loaded {
		if err := p.Reconfigure(cfg); err != nil {
			_, _ = pools.Delete(key)
			return nil, "", fmt.Errorf("reconfigure stamp pool for %s: %w", beeURL, err)
		}
		h.logger.Info("stamp pool kept across reload", zap.String("bee", beeURL))
	}
	return p, key, nil
}

// releasePool gives back only what provisionPool took. The pools stay set: on a reload Caddy
// cleans up the old handler while its server may still be finishing requests, which go on
// using the pool (the race detector caught the old version clearing it under them).
func (h *Handler) releasePool() {
	for _, n := range h.nodes {
		if n.poolKey == "" {
			continue
		}
		if _, err := pools.Delete(n.poolKey); err != nil {
			h.logger.Error("releasing stamp pool", zap.String("node", n.label), zap.Error(err))
		}
		n.poolKey = ""
	}
	if h.poolKey == "" {
		return
	}
	if _, err := pools.Delete(h.poolKey); err != nil {
		h.logger.Error("releasing stamp pool", zap.Error(err))
	}
	h.poolKey = ""
}

func (h *Handler) injecting() bool {
	return h.anyPool() && (h.Inject == nil || *h.Inject)
}

// anyPool reports whether some node keeps a pool.
func (h *Handler) anyPool() bool {
	for _, n := range h.nodes {
		if n.pool != nil {
			return true
		}
	}
	return false
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
