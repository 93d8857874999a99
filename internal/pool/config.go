package pool

import (
	"fmt"
	"sort"
	"time"
)

// Size names for the depths clients ask for.
const (
	SmallDepth  = 17
	MediumDepth = 20
	LargeDepth  = 22
)

// The depths a pool may keep. MaxDepth guards against typos: a depth-41 batch already costs
// 2^25 times a depth-16 one.
const (
	MinDepth = SmallDepth
	MaxDepth = 41
)

// sizeNames are the size names of depths, the one place they are spelled.
var sizeNames = map[string]int{"small": SmallDepth, "medium": MediumDepth, "large": LargeDepth}

// SizeDepth maps small/medium/large to a depth.
func SizeDepth(name string) (int, bool) {
	depth, ok := sizeNames[name]
	return depth, ok
}

// SizeName is the size name of a depth, or "" when it has none.
func SizeName(depth int) string {
	for name, d := range sizeNames {
		if d == depth {
			return name
		}
	}
	return ""
}

// Config is what the operator asked of the pool. docs/spec.md section 3 explains each option.
type Config struct {
	Reserve             map[int]int // depth -> usable batches kept in reserve
	Duration            time.Duration
	MinTTL              time.Duration
	TopUp               time.Duration
	CheckInterval       time.Duration
	ImmediateReplenish  bool
	UsageMax            float64
	MaxPurchasesPerHour int
	PurchaseSpacing     time.Duration
	// BlockTime is assumed until the pool has measured the chain's own (see blocktime.go);
	// then the measured one is used, and a configured one (BlockTimeConfigured) more than
	// 20% off it is reported.
	BlockTime           time.Duration
	BlockTimeConfigured bool
	LabelPrefix         string
	AcquireFallback     bool
	Immutable           bool
	PurchaseTimeout     time.Duration
	PollInterval        time.Duration // how often pending batches are checked; 0: BlockTime
	BackoffBase         time.Duration
	BackoffMax          time.Duration
	IntentGrace         time.Duration
	// HistoryRetention: issued and retired records older than this leave the ledger. They
	// are never used again (and a batch without a record or intent is never adopted), and
	// keeping them all would make every ledger write, and so every acquire, slower forever.
	HistoryRetention time.Duration
	// RequestCheckGap: maintenance asked for by requests (an empty pool, a filling batch)
	// runs at most once per gap, so no flood of requests turns into a flood of calls to Bee.
	RequestCheckGap time.Duration
	// LedgerWait bounds how long a caller waits for a ledger write (the storage lock may be
	// held by another instance, or a dead one until taken over); then ErrLedgerBusy.
	LedgerWait time.Duration
	// LegacySpend restores the policy before issue 24 (retire on the fullest bucket, the
	// smallest depth first, no dilution, the configured block time): for benchmarks that
	// compare the two in one run. No Caddyfile option sets it.
	LegacySpend bool
}

// DefaultConfig is docs/spec.md section 1's defaults.
func DefaultConfig() Config {
	return Config{
		Reserve:             map[int]int{SmallDepth: 1, MediumDepth: 1},
		Duration:            168 * time.Hour,
		MinTTL:              24 * time.Hour,
		TopUp:               168 * time.Hour,
		CheckInterval:       15 * time.Minute,
		ImmediateReplenish:  true,
		UsageMax:            0.8,
		MaxPurchasesPerHour: 10,
		PurchaseSpacing:     15 * time.Second,
		BlockTime:           5 * time.Second,
		LabelPrefix:         "caddy-bee",
		AcquireFallback:     true,
		Immutable:           true,
		PurchaseTimeout:     10 * time.Minute,
		BackoffBase:         time.Minute,
		BackoffMax:          time.Hour,
		IntentGrace:         30 * time.Minute,
		HistoryRetention:    30 * 24 * time.Hour,
		RequestCheckGap:     3 * time.Second,
		LedgerWait:          5 * time.Second,
	}
}

// Validate reports the first bad option, naming it and its value.
func (c Config) Validate() error {
	if len(c.Reserve) == 0 {
		return fmt.Errorf("reserve: at least one depth is needed, e.g. reserve small 1")
	}
	for d, n := range c.Reserve {
		if d < MinDepth || d > MaxDepth {
			return fmt.Errorf("reserve depth %d: want %d..%d", d, MinDepth, MaxDepth)
		}
		if n < 0 {
			return fmt.Errorf("reserve depth %d count %d: must not be negative", d, n)
		}
	}
	positive := map[string]time.Duration{
		"duration": c.Duration, "min_ttl": c.MinTTL, "topup": c.TopUp, "check_interval": c.CheckInterval,
		"block_time": c.BlockTime, "purchase_timeout": c.PurchaseTimeout, "backoff": c.BackoffBase,
	}
	for _, name := range []string{"duration", "min_ttl", "topup", "check_interval", "block_time", "purchase_timeout", "backoff"} {
		if positive[name] <= 0 {
			return fmt.Errorf("%s %s: must be positive", name, positive[name])
		}
	}
	if c.PurchaseSpacing < 0 {
		return fmt.Errorf("purchase_spacing %s: must not be negative", c.PurchaseSpacing)
	}
	if c.Duration < 24*time.Hour {
		return fmt.Errorf("duration %s: Bee sells at least 24h of validity; use 24h or more", c.Duration)
	}
	if c.MinTTL >= c.Duration+time.Hour {
		return fmt.Errorf("min_ttl %s is not below duration %s: every new batch would be topped up at once", c.MinTTL, c.Duration)
	}
	if c.UsageMax <= 0 || c.UsageMax > 1 {
		return fmt.Errorf("usage_max %v: want a fraction in (0, 1]", c.UsageMax)
	}
	if c.MaxPurchasesPerHour < 0 {
		return fmt.Errorf("max_purchases_per_hour %d: must not be negative", c.MaxPurchasesPerHour)
	}
	if c.LabelPrefix == "" {
		return fmt.Errorf("label_prefix: must not be empty")
	}
	if c.BackoffMax < c.BackoffBase {
		return fmt.Errorf("backoff max %s is below its base %s", c.BackoffMax, c.BackoffBase)
	}
	return nil
}

func (c Config) depths() []int {
	out := make([]int, 0, len(c.Reserve))
	for d := range c.Reserve {
		out = append(out, d)
	}
	sort.Ints(out)
	return out
}

func (c Config) pollInterval() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return c.BlockTime
}
