package caddymodule

import (
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// unmarshalNode reads `node <bee-api-url> { label <name>  pool { ... } }`: the label and
// pool of one of the directive's nodes.
func (h *Handler) unmarshalNode(d *caddyfile.Dispenser) error {
	if !h.multiNode() {
		return d.Errf("node blocks are for several nodes: list their URLs after bee (`bee <url> <url>...`)")
	}
	var raw string
	if err := singleArg(d, "node", &raw); err != nil {
		return err
	}
	nodeURL, err := NormalizeBeeURL(raw)
	if err != nil {
		return d.Errf("node URL: %v", err)
	}
	i := slices.IndexFunc(h.Nodes, func(n NodeConfig) bool { return n.URL == nodeURL })
	if i < 0 {
		return d.Errf("node %s is not one of the bee directive's URLs; list it after bee", nodeURL)
	}
	node, seen := &h.Nodes[i], map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		if seen[option] {
			return d.Errf("node %s: %s declared twice", nodeURL, option)
		}
		seen[option] = true
		switch option {
		case "label":
			err = oneValue(d, "node label", &node.Label, nodes.ParseLabel)
		case "pool":
			node.Pool, err = unmarshalPool(d, "node pool")
		default:
			err = d.Errf("unknown node option %q: want label or pool", option)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// unmarshalPool reads a pool block; name is how errors call it (`pool`, `node pool`).
func unmarshalPool(d *caddyfile.Dispenser, name string) (*PoolConfig, error) {
	if d.NextArg() {
		return nil, d.Errf("%s takes no arguments, only a block", name)
	}
	p := new(PoolConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		if d.Val() == "reserve" {
			err = unmarshalReserve(d, p)
		} else {
			err = blockOption(d, p, "pool", poolOptions, "unknown pool option %q: want reserve, duration, min_ttl, topup, check_interval, "+
				"immediate_replenish, usage_max, max_purchases_per_hour, purchase_spacing, block_time, "+
				"label_prefix, acquire_fallback, purchase_timeout or purchase_backoff")
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// unmarshalReserve reads `reserve <depth|small|medium|large> <count>`.
func unmarshalReserve(d *caddyfile.Dispenser, p *PoolConfig) (err error) {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.Errf("pool reserve: want `reserve <depth|small|medium|large> <count>`")
	}
	if p.Reserve, err = pool.AddReserve(p.Reserve, args[0], args[1]); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

var poolOptions = map[string]func(*PoolConfig, string, string) error{
	"duration":               field(func(p *PoolConfig) *caddy.Duration { return &p.Duration }, parseDuration),
	"min_ttl":                field(func(p *PoolConfig) *caddy.Duration { return &p.MinTTL }, parseDuration),
	"topup":                  field(func(p *PoolConfig) *caddy.Duration { return &p.TopUp }, parseDuration),
	"check_interval":         field(func(p *PoolConfig) *caddy.Duration { return &p.CheckInterval }, parseDuration),
	"purchase_spacing":       field(func(p *PoolConfig) *caddy.Duration { return &p.PurchaseSpacing }, parseDuration),
	"block_time":             field(func(p *PoolConfig) *caddy.Duration { return &p.BlockTime }, parseDuration),
	"purchase_timeout":       field(func(p *PoolConfig) *caddy.Duration { return &p.PurchaseTimeout }, parseDuration),
	"purchase_backoff":       field(func(p *PoolConfig) *caddy.Duration { return &p.PurchaseBackoff }, parseDuration),
	"immediate_replenish":    field(func(p *PoolConfig) **bool { return &p.ImmediateReplenish }, parseOnOff),
	"acquire_fallback":       field(func(p *PoolConfig) **bool { return &p.AcquireFallback }, parseOnOff),
	"usage_max":              field(func(p *PoolConfig) *float64 { return &p.UsageMax }, pool.ParseUsageMax),
	"max_purchases_per_hour": field(func(p *PoolConfig) **int { return &p.MaxPurchasesPerHour }, pool.ParsePurchaseCap),
	"label_prefix":           field(func(p *PoolConfig) *string { return &p.LabelPrefix }, pool.ParseLabelPrefix),
}
