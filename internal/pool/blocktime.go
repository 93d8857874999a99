package pool

import (
	"fmt"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
)

const (
	// minMeasuredBlocks: the chain must have advanced this many blocks between two syncs
	// before the pool trusts its own measure of the block time (one block's rounding is then
	// at most 5%).
	minMeasuredBlocks = 20
	// blockTimeTolerance: a configured block_time further than this from the measured one is
	// reported (log and /status).
	blockTimeTolerance = 0.2
)

// chainSample is Bee's block number at a moment of the pool's clock.
type chainSample struct {
	block uint64
	at    time.Time
}

// observeChain measures the block time from the block numbers /chainstate reported over
// the pool's syncs: (now - first sample) / (blocks since). A chain that goes backwards
// (another node, a reset) starts the measure again.
func (p *Pool) observeChain(chain bee.ChainState, now time.Time) {
	if chain.Block == 0 {
		return
	}
	p.mu.Lock()
	first := p.chainFirst
	if first.at.IsZero() || chain.Block < first.block || !now.After(first.at) {
		p.chainFirst = chainSample{block: chain.Block, at: now}
		p.mu.Unlock()
		return
	}
	blocks := chain.Block - first.block
	if blocks < minMeasuredBlocks {
		p.mu.Unlock()
		return
	}
	measured := now.Sub(first.at) / time.Duration(blocks)
	p.measuredBlockTime = measured
	cfg := p.cfg
	warning := blockTimeWarning(cfg, measured)
	changed := warning != p.blockTimeWarning
	p.blockTimeWarning = warning
	p.mu.Unlock()
	if changed && warning != "" {
		p.deps.Logger.Warn("configured block_time is off the chain's", zap.Duration("configured", cfg.BlockTime),
			zap.Duration("measured", measured), zap.String("detail", warning))
	}
}

// blockTimeWarning is the /status line for a configured block_time more than 20% off the
// measured one ("" when it is not, or when block_time was not configured).
func blockTimeWarning(cfg Config, measured time.Duration) string {
	if !cfg.BlockTimeConfigured || measured <= 0 {
		return ""
	}
	off := math.Abs(float64(cfg.BlockTime-measured)) / float64(measured)
	if off <= blockTimeTolerance {
		return ""
	}
	return fmt.Sprintf("block_time %s is %.0f%% off the %s measured from the chain: amounts and TTLs use the measured one; fix or remove block_time",
		cfg.BlockTime, 100*off, measured.Round(time.Millisecond))
}

// blockTime is what amount and TTL arithmetic use: the measured block time once known, else
// the configured (or default) one.
func (p *Pool) blockTime() time.Duration {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.measuredBlockTime > 0 && !p.cfg.LegacySpend {
		return p.measuredBlockTime
	}
	return p.cfg.BlockTime
}

// pollIntervalLocked is how often pending batches are checked: PollInterval, or a block (as
// measured once known). p.mu is held (read).
func (p *Pool) pollIntervalLocked(cfg Config) time.Duration {
	if cfg.PollInterval > 0 || p.measuredBlockTime <= 0 || cfg.LegacySpend {
		return cfg.pollInterval()
	}
	return p.measuredBlockTime
}

// BlockTimeStatus is the block time in use and where it comes from.
type BlockTimeStatus struct {
	Configured time.Duration
	Measured   time.Duration // 0 until measured
	Warning    string
}
