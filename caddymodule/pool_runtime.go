package caddymodule

import (
	"fmt"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
	"github.com/swarmgate/caddy-bee/internal/nodes"
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
// each node of the nodes list (internal/nodes.Plans resolves their pool blocks, once). It
// returns the resolved configuration the API names depths from.
func (h *Handler) provisionPool(ctx caddy.Context) (*pool.Config, error) {
	plans, sizes, err := nodes.Plans(h.Pool, h.BeeURL, h.Nodes)
	if err != nil {
		return nil, err
	}
	for _, plan := range plans {
		var p *pool.Pool
		if plan.Pool != nil {
			if p, err = h.startPool(ctx, plan.URL, plan.Label, *plan.Pool); err != nil {
				return nil, nodes.Named(plan.Label, err)
			}
		}
		n := nodes.NewMember(plan, p, upstreamsSeen.Available)
		h.nodes = append(h.nodes, n)
		if p != nil {
			h.pooled = append(h.pooled, n)
		}
	}
	return sizes, nil
}

// startPool starts or joins the pool runtime of the node at beeURL.
func (h *Handler) startPool(ctx caddy.Context, beeURL, label string, cfg pool.Config) (*pool.Pool, error) {
	key := poolKey(beeURL)
	observer := new(beemetrics.PoolObserver)
	observer.SetNode(label)
	deps := pool.Deps{Storage: ctx.Storage(), Logger: nodes.Logger(caddy.Log().Named("bee.pool"), label), Observer: observer}
	val, loaded, err := pools.LoadOrNew(key, func() (caddy.Destructor, error) {
		p, err := pool.StartForNode(beeURL, cfg, deps)
		if err != nil {
			return nil, err
		}
		return &poolRuntime{pool: p, observer: observer}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("start stamp pool for %s: %w", beeURL, err)
	}
	rt := val.(*poolRuntime)
	rt.observer.SetNode(label) // a reload may label the node anew, or add nodes to it
	if loaded {
		if err := rt.pool.Reconfigure(cfg); err != nil {
			_, _ = pools.Delete(key)
			return nil, fmt.Errorf("reconfigure stamp pool for %s: %w", beeURL, err)
		}
		h.logger.Info("stamp pool kept across reload", zap.String("bee", beeURL))
	}
	return rt.pool, nil
}

// releasePool gives back only what provisionPool took. The nodes keep their pools: on a
// reload Caddy cleans up the old handler while its server may still be finishing requests,
// which go on using the pool (the race detector caught the old version clearing it under them).
func (h *Handler) releasePool() {
	for _, n := range h.pooled {
		if _, err := pools.Delete(poolKey(n.URL)); err != nil {
			nodes.Logger(h.logger, n.Label).Error("releasing stamp pool", zap.Error(err))
		}
	}
	h.pooled = nil
}

func (h *Handler) injecting() bool {
	anyPool := slices.ContainsFunc(h.nodes, func(n *nodes.Member) bool { return n.Pool != nil })
	return anyPool && (h.Inject == nil || *h.Inject)
}
