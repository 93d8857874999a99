package caddymodule

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// PoolConfig configures the stamp pool: postage batches bought ahead of time, handed to
// clients through the pool API and injected into uploads that carry none.
type PoolConfig struct {
	// Reserve maps a batch depth to how many usable batches of that depth are kept in
	// reserve. Default: `{"17": 1, "20": 1}` (one small, one medium).
	Reserve map[int]int `json:"reserve,omitempty"`

	// Duration is the validity bought for each new batch; one hour of margin is added.
	// Default: 168h.
	Duration caddy.Duration `json:"duration,omitempty"`

	// MinTTL: a reserve or active batch whose TTL falls below this is topped up.
	// Default: 24h.
	MinTTL caddy.Duration `json:"min_ttl,omitempty"`

	// TopUp is the validity added by one top-up. Default: 168h.
	TopUp caddy.Duration `json:"topup,omitempty"`

	// CheckInterval is the period of maintenance (sync with Bee, top-ups, shortfall).
	// Events trigger it sooner. Default: 15m.
	CheckInterval caddy.Duration `json:"check_interval,omitempty"`

	// ImmediateReplenish buys a replacement as soon as a batch leaves the reserve.
	// Default: true.
	ImmediateReplenish *bool `json:"immediate_replenish,omitempty"`

	// UsageMax is the share (0 to 1] of a shared, injected batch's effective capacity (the
	// chunks it takes before a bucket is expected to overflow, tracked from Bee's buckets) at
	// which it is retired. Default: 0.8.
	UsageMax float64 `json:"usage_max,omitempty"`

	// MaxPurchasesPerHour caps buys and top-ups together; the count survives restarts.
	// Default: 10.
	MaxPurchasesPerHour *int `json:"max_purchases_per_hour,omitempty"`

	// PurchaseSpacing is the least time between two on-chain operations. Default: 15s.
	PurchaseSpacing caddy.Duration `json:"purchase_spacing,omitempty"`

	// BlockTime is the chain's block time assumed for amount and TTL arithmetic until the pool
	// has measured it from /chainstate; then the measured one is used, and a configured value
	// more than 20% off it is logged and shown in /status. Default: 5s.
	BlockTime caddy.Duration `json:"block_time,omitempty"`

	// LabelPrefix starts the label of every batch the pool buys. The pool owns only
	// batches it bought and recorded itself. Default: `caddy-bee`.
	LabelPrefix string `json:"label_prefix,omitempty"`

	// AcquireFallback hands out a batch of a larger depth when the requested depth has
	// none in reserve. Default: true.
	AcquireFallback *bool `json:"acquire_fallback,omitempty"`

	// PurchaseTimeout is how long one purchase call to Bee may take before its outcome
	// counts as unknown and is reconciled through Bee's batch list. Default: 10m.
	PurchaseTimeout caddy.Duration `json:"purchase_timeout,omitempty"`

	// PurchaseBackoff is how long a depth waits after a failed purchase (out of funds, Bee
	// busy or refusing) before the next try; it doubles on every further failure, up to an
	// hour. Default: 1m.
	PurchaseBackoff caddy.Duration `json:"purchase_backoff,omitempty"`
}

// validateReserve checks reserve depths and counts with the Caddyfile's words.
func validateReserve(reserve map[int]int) error {
	for depth, count := range reserve {
		if depth < pool.MinDepth || depth > pool.MaxDepth {
			return fmt.Errorf("pool reserve depth %d: want %d..%d or small/medium/large", depth, pool.MinDepth, pool.MaxDepth)
		}
		if count < 0 {
			return fmt.Errorf("pool reserve depth %d count %d: must not be negative", depth, count)
		}
	}
	return nil
}

// poolConfig turns the JSON configuration into the pool's, with the pool's defaults for
// every option left out.
func (c *PoolConfig) poolConfig() (pool.Config, error) {
	cfg := pool.DefaultConfig()
	if len(c.Reserve) > 0 {
		if err := validateReserve(c.Reserve); err != nil {
			return cfg, err
		}
		cfg.Reserve = maps.Clone(c.Reserve)
	}
	for dst, v := range map[*time.Duration]caddy.Duration{
		&cfg.Duration: c.Duration, &cfg.MinTTL: c.MinTTL, &cfg.TopUp: c.TopUp, &cfg.CheckInterval: c.CheckInterval,
		&cfg.PurchaseSpacing: c.PurchaseSpacing, &cfg.BlockTime: c.BlockTime, &cfg.PurchaseTimeout: c.PurchaseTimeout,
		&cfg.BackoffBase: c.PurchaseBackoff,
	} {
		if v != 0 {
			*dst = time.Duration(v)
		}
	}
	cfg.BlockTimeConfigured = c.BlockTime != 0
	cfg.ImmediateReplenish = valueOr(c.ImmediateReplenish, cfg.ImmediateReplenish)
	cfg.AcquireFallback = valueOr(c.AcquireFallback, cfg.AcquireFallback)
	cfg.MaxPurchasesPerHour = valueOr(c.MaxPurchasesPerHour, cfg.MaxPurchasesPerHour)
	cfg.UsageMax = cmp.Or(c.UsageMax, cfg.UsageMax)
	cfg.LabelPrefix = cmp.Or(c.LabelPrefix, cfg.LabelPrefix)
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("pool: %w", err)
	}
	return cfg, nil
}

// valueOr is *p, or def when the option was left out.
func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
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
