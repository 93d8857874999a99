package pool

import (
	"math"
	"math/big"
	"slices"
	"time"
)

// costPerByte is the expected PLUR per stamped byte of a batch of depth bought with amount
// PLUR per chunk for ttl, when injected uploads stamp rate bytes per second: the batch holds
// what arrives within its TTL, at most usage_max of its effective capacity, and at least
// one chunk (a batch nobody uses costs all the same).
func costPerByte(depth int, amount *big.Int, ttl time.Duration, rate, usageMax float64) float64 {
	perChunk, _ := new(big.Float).SetInt(amount).Float64()
	cost := perChunk * math.Exp2(float64(depth))
	held := math.Min(rate*ttl.Seconds(), usageMax*float64(capacityBytes(depth)))
	return cost / math.Max(held, chunkSize)
}

// cheapestDepth is the depth among depths with the lowest expected cost per stamped byte
// (the smaller on a tie): with little traffic the smallest, with a lot a larger one whose
// effective capacity is a bigger share of what it costs.
func cheapestDepth(depths []int, amount *big.Int, ttl time.Duration, rate, usageMax float64) int {
	best, bestCost := 0, math.Inf(1)
	for _, d := range depths {
		if c := costPerByte(d, amount, ttl, rate, usageMax); c < bestCost*(1-1e-9) {
			best, bestCost = d, c
		}
	}
	return best
}

// rateSample is the bytes injected since start at a moment of the pool's clock.
type rateSample struct {
	at    time.Time
	bytes int64
}

// rateWindow: the upload rate is measured over about the last hour of syncs.
const rateWindow = time.Hour

// observeRateLocked keeps the samples of the last rateWindow (and one older, so that the
// window is covered) and returns the injected bytes per second over them. p.mu is held.
func (p *Pool) observeRateLocked(now time.Time) float64 {
	p.rateSamples = append(p.rateSamples, rateSample{at: now, bytes: p.stampedBytes})
	for len(p.rateSamples) > 2 && now.Sub(p.rateSamples[1].at) > rateWindow {
		p.rateSamples = p.rateSamples[1:]
	}
	first := p.rateSamples[0]
	elapsed := now.Sub(first.at).Seconds()
	if elapsed <= 0 {
		return p.uploadRate
	}
	p.uploadRate = float64(p.stampedBytes-first.bytes) / elapsed
	return p.uploadRate
}

// chooseInjectDepth records the depth injection should prefer now. Called after each sync.
func (p *Pool) chooseInjectDepth() {
	cfg := p.config()
	p.mu.Lock()
	defer p.mu.Unlock()
	rate := p.observeRateLocked(p.deps.Clock.Now())
	if p.price == nil || p.price.Sign() <= 0 {
		return
	}
	bt := p.cfg.BlockTime
	if p.measuredBlockTime > 0 {
		bt = p.measuredBlockTime
	}
	amount := amountFor(p.price, cfg.Duration+time.Hour, bt)
	d := cheapestDepth(cfg.depths(), amount, cfg.Duration, rate, cfg.UsageMax)
	p.injectDepth = d
}

// injectOrder lists the configured depths with the cheapest one first (ascending when none
// was chosen yet). p.mu is held (read).
func (p *Pool) injectOrderLocked(depths []int) []int {
	if p.injectDepth == 0 || p.cfg.LegacySpend || len(depths) < 2 || depths[0] == p.injectDepth || !slices.Contains(depths, p.injectDepth) {
		return depths
	}
	out := make([]int, 0, len(depths))
	out = append(out, p.injectDepth)
	for _, d := range depths {
		if d != p.injectDepth {
			out = append(out, d)
		}
	}
	return out
}
