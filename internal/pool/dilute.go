package pool

import (
	"context"
	"math/big"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Diluter is the part of Bee's API that raises a batch's depth; *bee.Client has it. Without
// it the pool never dilutes.
type Diluter interface {
	Dilute(ctx context.Context, id string, depth int) error
}

// dilutePlan raises an active batch to the depth injection prefers, then tops it up so that
// its TTL (halved per step by the dilution) is what it was.
type dilutePlan struct {
	r       *record
	target  int
	restore *big.Int // PLUR per chunk the top-up adds
	room    bool     // made for an upload that cannot be replayed (room.go), not for cost
}

// planDilution: when injection prefers a deeper batch than any active one and no reserve
// batch of that depth is at hand (a reserve batch is paid for already), raising the active
// batch is the cheaper capacity if the top-up that keeps its TTL costs less than a new batch
// of that depth. p.mu is held (read).
func (p *Pool) planDilutionLocked(cfg Config, now time.Time) *dilutePlan {
	target := p.injectDepth
	if p.doc == nil || target == 0 || p.price == nil || p.price.Sign() <= 0 || p.doc.count(target, Reserve) > 0 {
		return nil
	}
	bt := p.cfg.BlockTime
	if p.measuredBlockTime > 0 {
		bt = p.measuredBlockTime
	}
	var best *record
	for _, r := range p.doc.Batches {
		if r.State != Active {
			continue
		}
		if r.Depth >= target {
			return nil // injection has a batch of the depth it wants
		}
		if p.toppingUp[r.ID] || p.topupBackoff[r.ID].until.After(now) || ttlOf(r.TTLSeconds) < cfg.MinTTL {
			continue
		}
		if f := p.fillOfLocked(r); f == nil || f.fraction() >= cfg.UsageMax {
			continue
		}
		if best == nil || r.TTLSeconds > best.TTLSeconds {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	restore := restoreAmount(p.price, best, uint(target-best.Depth), bt)
	newBatch := amountFor(p.price, cfg.Duration+time.Hour, bt)
	if restore.Cmp(newBatch) >= 0 {
		return nil
	}
	return &dilutePlan{r: best, target: target, restore: restore}
}

// dilutions carries out planDilution through the same budget as purchases and top-ups: each
// on-chain operation counts against max_purchases_per_hour unless Bee refused it before the
// chain, and a failure backs off this batch's top-ups and dilutions.
func (p *Pool) dilutions(ctx context.Context) {
	dl, ok := p.deps.Bee.(Diluter)
	if !ok || p.config().LegacySpend || p.spendingBlocked() != nil {
		return
	}
	cfg := p.config()
	p.mu.RLock()
	plan, met := p.planRoomLocked(cfg, p.deps.Clock.Now())
	if plan == nil {
		plan = p.planDilutionLocked(cfg, p.deps.Clock.Now())
	}
	p.mu.RUnlock()
	if met {
		p.mu.Lock()
		p.roomNeed = 0
		p.mu.Unlock()
	}
	if plan == nil {
		return
	}
	id := plan.r.ID
	startedAt, ok := p.reserveOperation(ctx, cfg, id, Active)
	if !ok {
		return
	}
	opCtx, cancel := p.withTimeout(ctx, cfg.PurchaseTimeout)
	err := dl.Dilute(opCtx, id, plan.target)
	cancel()
	p.mu.Lock()
	delete(p.toppingUp, id)
	p.mu.Unlock()
	if err != nil {
		p.onChainFailed(ctx, plan.r, startedAt, "dilute", err)
		return
	}
	from := plan.r.Depth
	_ = p.update(context.WithoutCancel(ctx), func(doc *ledgerDoc) error {
		if r := doc.find(id); r != nil {
			r.Depth = plan.target
			r.TTLSeconds >>= uint(plan.target - from)
		}
		return nil
	})
	p.mu.Lock()
	if st := p.fills[id]; st != nil {
		st.fill.depth = plan.target // same chunks, roomier buckets
	}
	if plan.room {
		p.roomNeed = 0
	}
	p.mu.Unlock()
	why := "the depth injection prefers"
	if plan.room {
		why = "make room for uploads that cannot be replayed"
	}
	p.deps.Logger.Info("active batch diluted: "+why, zap.String("batch_id", id),
		zap.Int("from_depth", from), zap.Int("depth", plan.target))
	if o, ok := p.deps.Observer.(DiluteObserver); ok {
		o.Dilute(from, plan.target)
	}

	// Keep the TTL: top up what the dilution halved away.
	startedAt, ok = p.reserveOperation(ctx, cfg, id, Active)
	if !ok {
		return // the regular top-up takes over once the TTL is below min_ttl
	}
	opCtx, cancel = p.withTimeout(ctx, cfg.PurchaseTimeout)
	err = p.deps.Bee.TopUp(opCtx, id, plan.restore)
	cancel()
	p.mu.Lock()
	delete(p.toppingUp, id)
	p.mu.Unlock()
	if err != nil {
		p.onChainFailed(ctx, plan.r, startedAt, "top-up after dilution", err)
		return
	}
	plur := new(big.Int).Lsh(plan.restore, uint(plan.target))
	p.addSpent(plur)
	p.deps.Logger.Info("diluted batch topped up to keep its TTL", zap.String("batch_id", id), zap.String("amount", plan.restore.String()))
	if p.deps.Observer != nil {
		p.deps.Observer.TopUp(plan.target, "ok", plur)
	}
}

// DiluteObserver is an optional Observer extension: a batch was diluted.
type DiluteObserver interface {
	Dilute(fromDepth, toDepth int)
}

// reserveOperation books one on-chain operation (a top-up or a dilution) on batch id in the
// ledger (cap, spacing, the share kept for depths below target) and marks the batch busy; ok
// is false when the batch is in none of states or the budget says no.
func (p *Pool) reserveOperation(ctx context.Context, cfg Config, id string, states ...State) (time.Time, bool) {
	var startedAt time.Time
	err := p.update(ctx, func(doc *ledgerDoc) error {
		r := doc.find(id)
		if r == nil || !slices.Contains(states, r.State) {
			return errNoChange
		}
		if err := p.canSpend(doc, cfg); err != nil {
			return err
		}
		// A depth below target is bought before any top-up: keep its share of the budget.
		now := p.deps.Clock.Now()
		if short := shortfall(doc, cfg); short > 0 && doc.operationsSince(now.Add(-time.Hour))+short >= cfg.MaxPurchasesPerHour {
			return errBudgetKept
		}
		startedAt = now
		doc.Operations = append(doc.Operations, now)
		p.mu.Lock()
		p.toppingUp[id] = true
		p.mu.Unlock()
		return nil
	})
	return startedAt, err == nil
}

// onChainFailed: like a failed top-up, the cap slot comes back when Bee refused before the
// chain, and the batch's top-ups and dilutions back off.
func (p *Pool) onChainFailed(ctx context.Context, r *record, startedAt time.Time, op string, err error) {
	refused := refusedBeforeChain(err)
	if refused {
		_ = p.update(context.WithoutCancel(ctx), func(doc *ledgerDoc) error {
			refundOperation(doc, startedAt)
			return nil
		})
	}
	cfg := p.config()
	p.mu.Lock()
	b := nextBackoff(p.topupBackoff[r.ID], cfg, p.deps.Clock.Now())
	b.cause = op + ": " + strings.ReplaceAll(err.Error(), r.ID, "<batch>")
	p.topupBackoff[r.ID] = b
	p.mu.Unlock()
	p.deps.Logger.Error(op+" failed; backing off for this batch", zap.String("batch_id", r.ID), zap.Int("depth", r.Depth),
		zap.Bool("counted_against_cap", !refused), zap.Duration("retry_in", b.delay), zap.Error(err))
}
