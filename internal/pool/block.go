package pool

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"time"
)

// Block configures the stamp pool: postage batches bought ahead of time, handed to
// clients through the pool API and injected into uploads that carry none. It is the
// gateway's JSON `pool` object; D is the configuration's duration type (caddy.Duration
// in the Caddy module), so this package needs no Caddy.
type Block[D ~int64] struct {
	// Reserve maps a batch depth to how many usable batches of that depth are kept in
	// reserve. Default: `{"17": 1, "20": 1}` (one small, one medium).
	Reserve map[int]int `json:"reserve,omitempty"`

	// Duration is the validity bought for each new batch; one hour of margin is added.
	// Default: 168h.
	Duration D `json:"duration,omitempty"`

	// MinTTL: a reserve or active batch whose TTL falls below this is topped up.
	// Default: 24h.
	MinTTL D `json:"min_ttl,omitempty"`

	// TopUp is the validity added by one top-up. Default: 168h.
	TopUp D `json:"topup,omitempty"`

	// CheckInterval is the period of maintenance (sync with Bee, top-ups, shortfall).
	// Events trigger it sooner. Default: 15m.
	CheckInterval D `json:"check_interval,omitempty"`

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
	PurchaseSpacing D `json:"purchase_spacing,omitempty"`

	// BlockTime is the chain's block time assumed for amount and TTL arithmetic until the pool
	// has measured it from /chainstate; then the measured one is used, and a configured value
	// more than 20% off it is logged and shown in /status. Default: 5s.
	BlockTime D `json:"block_time,omitempty"`

	// LabelPrefix starts the label of every batch the pool buys. The pool owns only
	// batches it bought and recorded itself. Default: `caddy-bee`.
	LabelPrefix string `json:"label_prefix,omitempty"`

	// AcquireFallback hands out a batch of a larger depth when the requested depth has
	// none in reserve. Default: true.
	AcquireFallback *bool `json:"acquire_fallback,omitempty"`

	// PurchaseTimeout is how long one purchase call to Bee may take before its outcome
	// counts as unknown and is reconciled through Bee's batch list. Default: 10m.
	PurchaseTimeout D `json:"purchase_timeout,omitempty"`

	// PurchaseBackoff is how long a depth waits after a failed purchase (out of funds, Bee
	// busy or refusing) before the next try; it doubles on every further failure, up to an
	// hour. Default: 1m.
	PurchaseBackoff D `json:"purchase_backoff,omitempty"`
}

// Resolve turns the block into the pool's configuration, with the defaults for every
// option left out.
func (b *Block[D]) Resolve() (Config, error) {
	cfg := DefaultConfig()
	if len(b.Reserve) > 0 {
		if err := CheckReserve(b.Reserve); err != nil {
			return cfg, err
		}
		cfg.Reserve = maps.Clone(b.Reserve)
	}
	for dst, v := range map[*time.Duration]D{
		&cfg.Duration: b.Duration, &cfg.MinTTL: b.MinTTL, &cfg.TopUp: b.TopUp, &cfg.CheckInterval: b.CheckInterval,
		&cfg.PurchaseSpacing: b.PurchaseSpacing, &cfg.BlockTime: b.BlockTime, &cfg.PurchaseTimeout: b.PurchaseTimeout,
		&cfg.BackoffBase: b.PurchaseBackoff,
	} {
		if v != 0 {
			*dst = time.Duration(v)
		}
	}
	cfg.BlockTimeConfigured = b.BlockTime != 0
	cfg.ImmediateReplenish = valueOr(b.ImmediateReplenish, cfg.ImmediateReplenish)
	cfg.AcquireFallback = valueOr(b.AcquireFallback, cfg.AcquireFallback)
	cfg.MaxPurchasesPerHour = valueOr(b.MaxPurchasesPerHour, cfg.MaxPurchasesPerHour)
	cfg.UsageMax = cmp.Or(b.UsageMax, cfg.UsageMax)
	cfg.LabelPrefix = cmp.Or(b.LabelPrefix, cfg.LabelPrefix)
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("pool: %w", err)
	}
	return cfg, nil
}

// Check reports whether the block resolves; a nil block (none configured) does.
func (b *Block[D]) Check() error {
	if b == nil {
		return nil
	}
	_, err := b.Resolve()
	return err
}

// valueOr is *p, or def when the option was left out.
func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// CheckReserve checks reserve depths and counts with the Caddyfile's words.
func CheckReserve(reserve map[int]int) error {
	for depth, count := range reserve {
		if depth < MinDepth || depth > MaxDepth {
			return fmt.Errorf("pool reserve depth %d: want %d..%d or small/medium/large", depth, MinDepth, MaxDepth)
		}
		if count < 0 {
			return fmt.Errorf("pool reserve depth %d count %d: must not be negative", depth, count)
		}
	}
	return nil
}

// AddReserve adds the Caddyfile's `reserve <depth|small|medium|large> <count>` values to
// reserve (nil: a new one), refusing a depth declared twice or out of range.
func AddReserve(reserve map[int]int, depthWord, countWord string) (map[int]int, error) {
	depth, ok := SizeDepth(depthWord)
	if !ok {
		var err error
		if depth, err = strconv.Atoi(depthWord); err != nil {
			return nil, fmt.Errorf("pool reserve %q: want a depth (%d..%d) or small/medium/large", depthWord, MinDepth, MaxDepth)
		}
	}
	count, err := strconv.Atoi(countWord)
	if err != nil || count < 0 {
		return nil, fmt.Errorf("pool reserve %s count %q: want a whole number >= 0", depthWord, countWord)
	}
	if _, dup := reserve[depth]; dup {
		return nil, fmt.Errorf("pool reserve depth %d: declared twice", depth)
	}
	if reserve == nil {
		reserve = map[int]int{}
	}
	reserve[depth] = count
	return reserve, CheckReserve(reserve)
}

// The parsers of the Caddyfile's pool option values; name is the option as errors call it.

// ParseUsageMax reads usage_max.
func ParseUsageMax(name, value string) (float64, error) {
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || f <= 0 || f > 1 {
		return 0, fmt.Errorf("%s %q: want a fraction in (0, 1], e.g. 0.8", name, value)
	}
	return f, nil
}

// ParsePurchaseCap reads max_purchases_per_hour.
func ParsePurchaseCap(name, value string) (*int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%s %q: want a whole number >= 0 (0 stops all spending)", name, value)
	}
	return &n, nil
}

var labelPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ParseLabelPrefix reads label_prefix.
func ParseLabelPrefix(name, value string) (string, error) {
	if !labelPrefixPattern.MatchString(value) {
		return "", fmt.Errorf("%s %q: want 1-32 letters, digits, '-' or '_'", name, value)
	}
	return value, nil
}
