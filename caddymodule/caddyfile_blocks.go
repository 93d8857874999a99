package caddymodule

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

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
	var node *NodeConfig
	for i := range h.Nodes {
		if h.Nodes[i].URL == nodeURL {
			node = &h.Nodes[i]
		}
	}
	if node == nil {
		return d.Errf("node %s is not one of the bee directive's URLs; list it after bee", nodeURL)
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		if seen[option] {
			return d.Errf("node %s: %s declared twice", nodeURL, option)
		}
		seen[option] = true
		switch option {
		case "label":
			if err := singleArg(d, "node label", &node.Label); err != nil {
				return err
			}
			if !labelPattern.MatchString(node.Label) {
				return d.Errf("node label %q: want 1-32 letters, digits, '-', '_' or '.', starting with a letter or digit", node.Label)
			}
		case "pool":
			if node.Pool, err = unmarshalPool(d, "node pool"); err != nil {
				return err
			}
		default:
			return d.Errf("unknown node option %q: want label or pool", option)
		}
	}
	return nil
}

// unmarshalCoalesce reads `coalesce on|off` or `coalesce { <option> <value>... }`.
func (h *Handler) unmarshalCoalesce(d *caddyfile.Dispenser) error {
	if h.Coalesce != nil {
		return d.Errf("coalesce: declared twice")
	}
	h.Coalesce = new(CoalesceConfig)
	if d.NextArg() {
		switch d.Val() {
		case "off":
			h.Coalesce.Disabled = true
		case "on":
		default:
			return d.Errf("coalesce %q: want on, off or a block", d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := blockOption(d, h.Coalesce, "coalesce", coalesceOptions,
			"unknown coalesce option %q: want memory_window, max_wait, max_memory, max_spill, spill_dir or stall_timeout"); err != nil {
			return err
		}
	}
	return nil
}

var coalesceOptions = map[string]func(*CoalesceConfig, string, string) error{
	"memory_window": field(func(c *CoalesceConfig) *int64 { return &c.MemoryWindow }, sizeUpTo(1<<40, "8MiB")),
	"max_wait":      field(func(c *CoalesceConfig) *caddy.Duration { return &c.MaxWait }, parseDuration),
	"max_memory":    field(func(c *CoalesceConfig) *int64 { return &c.MaxMemory }, sizeUpTo(1<<50, "256MiB")),
	"max_spill":     field(func(c *CoalesceConfig) *int64 { return &c.MaxSpill }, sizeUpTo(1<<50, "256MiB")),
	"spill_dir":     field(func(c *CoalesceConfig) *string { return &c.SpillDir }, anyString),
	"stall_timeout": field(func(c *CoalesceConfig) *caddy.Duration { return &c.StallTimeout }, parseDuration),
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
func unmarshalReserve(d *caddyfile.Dispenser, p *PoolConfig) error {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.Errf("pool reserve: want `reserve <depth|small|medium|large> <count>`")
	}
	depth, ok := pool.SizeDepth(args[0])
	if !ok {
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return d.Errf("pool reserve %q: want a depth (%d..%d) or small/medium/large", args[0], pool.MinDepth, pool.MaxDepth)
		}
		depth = n
	}
	count, err := strconv.Atoi(args[1])
	if err != nil || count < 0 {
		return d.Errf("pool reserve %s count %q: want a whole number >= 0", args[0], args[1])
	}
	if p.Reserve == nil {
		p.Reserve = map[int]int{}
	}
	if _, dup := p.Reserve[depth]; dup {
		return d.Errf("pool reserve depth %d: declared twice", depth)
	}
	p.Reserve[depth] = count
	if err := validateReserve(p.Reserve); err != nil {
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
	"usage_max":              field(func(p *PoolConfig) *float64 { return &p.UsageMax }, parseUsageMax),
	"max_purchases_per_hour": field(func(p *PoolConfig) **int { return &p.MaxPurchasesPerHour }, parsePurchaseCap),
	"label_prefix":           field(func(p *PoolConfig) *string { return &p.LabelPrefix }, parseLabelPrefix),
}

func parseUsageMax(name, value string) (float64, error) {
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || f <= 0 || f > 1 {
		return 0, fmt.Errorf("%s %q: want a fraction in (0, 1], e.g. 0.8", name, value)
	}
	return f, nil
}

func parsePurchaseCap(name, value string) (*int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%s %q: want a whole number >= 0 (0 stops all spending)", name, value)
	}
	return &n, nil
}

var labelPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func parseLabelPrefix(name, value string) (string, error) {
	if !labelPrefixPattern.MatchString(value) {
		return "", fmt.Errorf("%s %q: want 1-32 letters, digits, '-' or '_'", name, value)
	}
	return value, nil
}
