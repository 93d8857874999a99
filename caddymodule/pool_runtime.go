package caddymodule

import (
	"cmp"
	"fmt"

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
// resolved here, once; it returns the resolved configuration the API names depths from: the
// handler's pool block, else the first node's.
func (h *Handler) provisionPool(ctx caddy.Context) (*pool.Config, error) {
	var shared *pool.Config
	if h.Pool != nil {
		cfg, err := h.Pool.Resolve()
		if err != nil {
			return nil, err
		}
		shared = &cfg
	}
	specs := h.Nodes
	if !h.multiNode() {
		if shared == nil {
			return nil, nil
		}
		if h.BeeURL == "" {
			return nil, fmt.Errorf("pool needs bee_url, the Bee API the pool buys from")
		}
		specs = []NodeConfig{{URL: h.BeeURL}}
	}
	sizes := shared
	for _, nc := range specs {
		n := &beeNode{label: nc.Label, url: nc.URL, dial: dialAddress(nc.URL), cfg: cmp.Or(nc.Pool, h.Pool)}
		h.nodes = append(h.nodes, n)
		cfg := shared
		if nc.Pool != nil {
			own, err := nc.Pool.Resolve()
			if err != nil {
				return nil, nodeError(n.label, err)
			}
			cfg = &own
		}
		if cfg == nil {
			continue
		}
		sizes = cmp.Or(sizes, cfg)
		var err error
		if n.pool, n.poolKey, err = h.startPool(ctx, n.url, n.label, *cfg); err != nil {
			return nil, nodeError(n.label, err)
		}
	}
	return sizes, nil
}

// nodeError names the node, one of several, that err is about.
func nodeError(label string, err error) error {
	if label == "" {
		return err
	}
	return fmt.Errorf("node %s: %w", label, err)
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
			logger := h.logger
			if n.label != "" {
				logger = logger.With(zap.String("node", n.label))
			}
			logger.Error("releasing stamp pool", zap.Error(err))
		}
		n.poolKey = ""
	}
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
