package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
)

// run is the pool's single purchaser: it syncs with Bee, tops up, and buys for any shortfall,
// on every signal and every check interval (sooner while batches are pending).
func (p *Pool) run(ctx context.Context) {
	defer close(p.done)
	for {
		p.maintain(ctx)
		p.maintained.Add(1)
		wait := p.nextWait()
		p.mu.Lock()
		p.nextCheck = p.deps.Clock.Now().Add(wait)
		p.mu.Unlock()
		timer := p.deps.Clock.NewTimer(wait)
		select {
		case <-p.stop:
			timer.Stop()
			return
		case <-p.wake:
		case <-timer.C():
		}
		timer.Stop()
	}
}

// nextWait: the check interval, or the poll interval while something is pending or short.
func (p *Pool) nextWait() time.Duration {
	cfg := p.config()
	p.mu.RLock()
	defer p.mu.RUnlock()
	// A failed sync (Bee away, or the ledger busy or unreadable: a dead peer's lock until its
	// takeover) is tried again soon, not after a whole check interval: until one succeeds the
	// pool spends nothing and knows nothing.
	retry := min(cfg.CheckInterval, max(cfg.pollInterval(), time.Second))
	if p.syncFailed {
		return retry
	}
	if p.doc != nil && p.ledgerErr == nil {
		for _, d := range cfg.depths() {
			if p.doc.count(d, Pending) > 0 || p.doc.openIntents(d) > 0 {
				return p.pollIntervalLocked(cfg)
			}
		}
		for _, b := range p.backoff {
			if b.until.After(p.deps.Clock.Now()) {
				return min(cfg.CheckInterval, b.until.Sub(p.deps.Clock.Now())+time.Millisecond)
			}
		}
	}
	if p.beeErr != nil {
		return retry
	}
	return cfg.CheckInterval
}

func (p *Pool) maintain(ctx context.Context) {
	defer p.logSpendingChanges()
	err := p.sync(ctx)
	p.mu.Lock()
	p.syncFailed = err != nil
	p.mu.Unlock()
	if err != nil {
		return
	}
	p.chooseInjectDepth()
	p.reportEfficiency()
	p.topUps(ctx)
	p.dilutions(ctx)
	for ctx.Err() == nil {
		if bought := p.buyOne(ctx); !bought {
			return
		}
	}
}

// sync reads Bee's batches and brings the ledger up to date: adopts intents by label, marks
// pending batches usable, refreshes TTL and utilisation, retires full or vanished batches.
// Until it succeeds the inventory is unknown and nothing is spent.
func (p *Pool) sync(ctx context.Context) error {
	cfg := p.config()
	readCtx, cancel := p.withTimeout(ctx, 30*time.Second)
	// A listing shows Bee as it was somewhere between these two instants. Another instance
	// may record a newer one before this one is applied: a batch missing here counts as gone
	// only if it was last seen before this listing began.
	listedFrom := p.deps.Clock.Now()
	stamps, err := p.deps.Bee.Stamps(readCtx)
	listedBy := p.deps.Clock.Now()
	var chain bee.ChainState
	if err == nil {
		chain, err = p.deps.Bee.ChainState(readCtx)
	}
	cancel()
	now := p.deps.Clock.Now()
	p.mu.Lock()
	p.lastCheck = now
	if err != nil {
		if p.beeErr == nil {
			p.deps.Logger.Warn("bee unreachable or syncing: pool inventory unknown, no spending", zap.Error(err))
		}
		p.beeErr = err
		p.mu.Unlock()
		return err
	}
	p.beeErr = nil
	p.price = chain.CurrentPrice
	p.mu.Unlock()

	byLabel := map[string]bee.Stamp{}
	byID := map[string]bee.Stamp{}
	for _, s := range stamps {
		byID[s.BatchID] = s
		if s.Label != "" {
			byLabel[s.Label] = s
		}
	}
	p.observeChain(chain, now)
	p.refreshFills(ctx, byID)
	unseenAfter := p.intentUnseenAfter(cfg)
	err = p.update(ctx, func(doc *ledgerDoc) error {
		kept := doc.Intents[:0]
		for _, in := range doc.Intents {
			s, found := byLabel[in.Label]
			if found && doc.findAny(s.BatchID) == nil {
				doc.Batches = append(doc.Batches, &record{ID: s.BatchID, Label: in.Label, Depth: s.Depth, State: Pending,
					Amount: in.Amount, BoughtAt: in.StartedAt})
				p.deps.Logger.Info("adopted batch of an unfinished purchase", zap.String("label", in.Label), zap.String("batch_id", s.BatchID))
				p.observePurchase(in.Depth, "adopted", nil)
				continue
			}
			if found {
				continue // already recorded
			}
			if age := now.Sub(in.StartedAt); !in.Abandoned && age > unseenAfter {
				in.Abandoned = true
				p.deps.Logger.Warn("purchase never appeared on chain; no longer counted as pending (still adopted if it shows up)",
					zap.String("label", in.Label), zap.Int("depth", in.Depth), zap.Duration("after", age))
			}
			kept = append(kept, in)
		}
		doc.Intents = kept
		for _, r := range doc.Batches {
			s, found := byID[r.ID]
			switch r.State {
			case Pending:
				if found && s.Usable {
					r.State, r.UsableAt = Reserve, now
					r.SeenOnChain, r.LastSeen = true, laterOf(r.LastSeen, listedBy)
					p.deps.Logger.Info("batch usable, in reserve", zap.String("batch_id", r.ID), zap.Int("depth", r.Depth))
					if p.deps.Observer != nil {
						p.deps.Observer.TimeUntilUsable(r.Depth, now.Sub(r.BoughtAt))
					}
				}
			case Reserve, Active:
				if !found {
					if r.SeenOnChain && r.LastSeen.Before(listedFrom) {
						p.retireRecord(r, "expired: gone from Bee's batch list")
					}
					continue
				}
				r.SeenOnChain, r.LastSeen = true, laterOf(r.LastSeen, listedBy)
			default:
				continue
			}
			if found {
				r.TTLSeconds, r.Utilization = s.BatchTTL, s.UtilizationRatio
				if r.State == Active {
					p.mu.RLock()
					st := p.fills[r.ID]
					why := ""
					if st != nil {
						why = p.retireDueLocked(st.fill, cfg.UsageMax)
					}
					p.mu.RUnlock()
					switch {
					case why != "":
						p.retireRecord(r, why)
					case st == nil && s.UtilizationRatio >= cfg.UsageMax:
						// No fill model (Bee without bucket reads): the fullest bucket decides.
						p.retireRecord(r, fmt.Sprintf("utilization %.2f reached usage_max %.2f", s.UtilizationRatio, cfg.UsageMax))
					}
				}
				if (r.State == Reserve || r.State == Active) && s.BatchTTL == 0 {
					p.retireRecord(r, "expired: TTL ran out")
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.synced = true
	p.localBytes = map[string]int64{}
	if p.doc != nil {
		p.forgetFillsLocked()
	}
	p.mu.Unlock()
	return nil
}

// intentListingBlocks: Bee lists a mined batch in GET /stamps a few blocks later (the
// simulator after 4); an intent is judged absent from the chain only past this many more.
const intentListingBlocks = 10

// intentUnseenAfter is how long an intent whose label no batch on the chain carries counts as
// pending. Past its purchase timeout the call that wrote it has ended, in this process or any
// other (or the process died: a SIGKILL between the intent's write and Bee's taking the
// purchase leaves one that Bee never saw); a batch it bought would be listed a few blocks
// later. After that it no longer holds back a purchase, but stays in the ledger: a batch
// with its label that appears later is still adopted, never bought again. IntentGrace caps
// the wait.
func (p *Pool) intentUnseenAfter(cfg Config) time.Duration {
	return min(cfg.PurchaseTimeout+intentListingBlocks*p.blockTime(), cfg.IntentGrace)
}

func (p *Pool) observePurchase(depth int, result string, plur *big.Int) {
	if p.deps.Observer != nil {
		p.deps.Observer.Purchase(depth, result, plur)
	}
}

// canSpend applies the no-unknown-inventory rule, the hourly cap and the spacing.
func (p *Pool) canSpend(doc *ledgerDoc, cfg Config) error {
	now := p.deps.Clock.Now()
	if n := doc.operationsSince(now.Add(-time.Hour)); n >= cfg.MaxPurchasesPerHour {
		return fmt.Errorf("max_purchases_per_hour %d reached", cfg.MaxPurchasesPerHour)
	}
	if last := doc.lastOperation(); now.Sub(last) < cfg.PurchaseSpacing {
		return errSpacing{wait: cfg.PurchaseSpacing - now.Sub(last)}
	}
	return nil
}

type errSpacing struct{ wait time.Duration }

func (e errSpacing) Error() string {
	return "purchase_spacing: next on-chain operation in " + e.wait.String()
}

// amountFor: price x ceil(d / block_time), never below Bee's 24 h minimum.
func amountFor(price *big.Int, d, blockTime time.Duration) *big.Int {
	amount := new(big.Int).Mul(price, big.NewInt(bee.BlocksIn(d, blockTime)))
	minimum := new(big.Int).Mul(price, big.NewInt(bee.BlocksIn(bee.MinimumValidity, blockTime)))
	minimum.Add(minimum, big.NewInt(1))
	if amount.Cmp(minimum) < 0 {
		amount = minimum
	}
	return amount
}

func newLabel(prefix string, depth int) string {
	raw := make([]byte, 6)
	_, _ = rand.Read(raw)
	return prefix + "-" + strconv.Itoa(depth) + "-" + hex.EncodeToString(raw)
}

// buyOne buys one batch for the first depth short of its target. It reports whether it
// bought (so the caller may look for more).
func (p *Pool) buyOne(ctx context.Context) bool {
	if p.spendingBlocked() != nil {
		return false
	}
	cfg := p.config()
	p.mu.RLock()
	price := p.price
	p.mu.RUnlock()
	if price == nil || price.Sign() <= 0 {
		return false
	}
	amount := amountFor(price, cfg.Duration+time.Hour, p.blockTime())
	var in *intent
	var wait time.Duration
	err := p.update(ctx, func(doc *ledgerDoc) error {
		now := p.deps.Clock.Now()
		for _, d := range cfg.depths() {
			if doc.count(d, Reserve)+doc.count(d, Pending)+doc.openIntents(d) >= cfg.Reserve[d] {
				continue
			}
			p.mu.RLock()
			b := p.backoff[d]
			p.mu.RUnlock()
			if b.until.After(now) {
				continue
			}
			if err := p.canSpend(doc, cfg); err != nil {
				var sp errSpacing
				if errors.As(err, &sp) {
					wait = sp.wait
				}
				return err
			}
			// The intent goes to the ledger before Bee is called.
			in = &intent{Label: newLabel(cfg.LabelPrefix, d), Depth: d, Amount: amount.String(), StartedAt: now}
			doc.Intents = append(doc.Intents, in)
			doc.Operations = append(doc.Operations, now)
			return nil
		}
		return errNoChange
	})
	if err != nil {
		if wait > 0 {
			spaced := p.deps.Clock.NewTimer(wait)
			defer spaced.Stop()
			select {
			case <-spaced.C():
				return ctx.Err() == nil
			case <-p.stop:
			}
		}
		return false
	}
	plur := new(big.Int).Lsh(amount, uint(in.Depth))
	p.deps.Logger.Info("buying batch", zap.Int("depth", in.Depth), zap.String("label", in.Label), zap.String("amount", amount.String()))
	buyCtx, cancel := p.withTimeout(ctx, cfg.PurchaseTimeout)
	id, err := p.deps.Bee.BuyStamp(buyCtx, amount, in.Depth, in.Label, cfg.Immutable)
	cancel()
	switch {
	case err == nil:
		p.resetBackoff(in.Depth)
		_ = p.update(context.WithoutCancel(ctx), func(doc *ledgerDoc) error {
			doc.Intents = removeIntent(doc.Intents, in.Label)
			if doc.findAny(id) == nil {
				doc.Batches = append(doc.Batches, &record{ID: id, Label: in.Label, Depth: in.Depth, State: Pending,
					Amount: in.Amount, BoughtAt: in.StartedAt})
			}
			return nil
		})
		p.deps.Logger.Info("batch bought", zap.String("batch_id", id), zap.Int("depth", in.Depth), zap.String("label", in.Label))
		p.observePurchase(in.Depth, "ok", plur)
		p.addSpent(plur)
		return true
	case bee.IsTimeout(err) || ctx.Err() != nil:
		// Outcome unknown: the intent stays; the batch is adopted when it shows up.
		p.deps.Logger.Warn("purchase outcome unknown; will reconcile by label", zap.String("label", in.Label), zap.Error(err))
		p.observePurchase(in.Depth, "timeout", nil)
		return false
	default:
		refused := refusedBeforeChain(err)
		_ = p.update(context.WithoutCancel(ctx), func(doc *ledgerDoc) error {
			doc.Intents = removeIntent(doc.Intents, in.Label)
			if refused {
				refundOperation(doc, in.StartedAt) // nothing reached the chain
			}
			return nil
		})
		delay := p.failBackoff(in.Depth, errors.Is(err, bee.ErrBusy), err)
		p.deps.Logger.Error("purchase failed; backing off", zap.Int("depth", in.Depth), zap.String("label", in.Label),
			zap.Bool("counted_against_cap", !refused), zap.Duration("retry_in", delay), zap.Error(err))
		result := "failed"
		if refused {
			result = "refused"
		}
		p.observePurchase(in.Depth, result, nil)
		return false
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func removeIntent(list []*intent, label string) []*intent {
	out := list[:0]
	for _, in := range list {
		if in.Label != label {
			out = append(out, in)
		}
	}
	return out
}

// busyRetry caps the wait after Bee's 429: another on-chain operation (often our own
// purchase, still being mined after a crash) is in flight, which ends in seconds; it is no
// reason to escalate the backoff.
const busyRetry = 5 * time.Second

func (p *Pool) failBackoff(depth int, busy bool, cause error) time.Duration {
	cfg := p.config()
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.backoff[depth]
	b.cause = cause.Error()
	if busy {
		wait := min(cfg.BackoffBase, busyRetry)
		b.until = p.deps.Clock.Now().Add(wait)
		p.backoff[depth] = b
		return wait
	}
	b = nextBackoff(b, cfg, p.deps.Clock.Now())
	p.backoff[depth] = b
	return b.delay
}

// nextBackoff doubles the delay from BackoffBase up to BackoffMax.
func nextBackoff(b backoffState, cfg Config, now time.Time) backoffState {
	if b.delay == 0 {
		b.delay = cfg.BackoffBase
	} else {
		b.delay = min(b.delay*2, cfg.BackoffMax)
	}
	b.until = now.Add(b.delay)
	return b
}

func (p *Pool) resetBackoff(depth int) {
	p.mu.Lock()
	delete(p.backoff, depth)
	p.mu.Unlock()
}

// topUps extends reserve and active batches whose TTL fell below min_ttl. Issued batches are
// the client's; depths no longer configured are left alone, but for active batches a dilution
// for room may have made (roomMade: they take injected uploads).
func (p *Pool) topUps(ctx context.Context) {
	cfg := p.config()
	p.mu.RLock()
	price := p.price
	var due []*record
	if p.doc != nil {
		for _, r := range p.doc.Batches {
			_, configured := cfg.Reserve[r.Depth]
			backingOff := p.topupBackoff[r.ID].until.After(p.deps.Clock.Now())
			if (configured || roomMade(cfg, r)) && !backingOff && (r.State == Reserve || r.State == Active) && r.TTLSeconds > 0 &&
				ttlOf(r.TTLSeconds) < cfg.MinTTL {
				due = append(due, r)
			}
		}
	}
	p.mu.RUnlock()
	if price == nil || p.spendingBlocked() != nil {
		return
	}
	amount := amountFor(price, cfg.TopUp, p.blockTime())
	for _, r := range due {
		if ctx.Err() != nil {
			return
		}
		startedAt, ok := p.reserveOperation(ctx, cfg, r.ID, Reserve, Active)
		if !ok {
			return
		}
		plur := new(big.Int).Lsh(amount, uint(r.Depth))
		opCtx, cancel := p.withTimeout(ctx, cfg.PurchaseTimeout)
		err := p.deps.Bee.TopUp(opCtx, r.ID, amount)
		cancel()
		p.mu.Lock()
		delete(p.toppingUp, r.ID)
		p.mu.Unlock()
		if err != nil {
			p.topUpFailed(ctx, r, startedAt, err)
			continue
		}
		p.mu.Lock()
		delete(p.topupBackoff, r.ID)
		p.mu.Unlock()
		p.deps.Logger.Info("batch topped up", zap.String("batch_id", r.ID), zap.Int("depth", r.Depth), zap.String("amount", amount.String()))
		p.addSpent(plur)
		if p.deps.Observer != nil {
			p.deps.Observer.TopUp(r.Depth, "ok", plur)
		}
	}
}

// errBudgetKept: the hourly budget left is needed for depths below target.
var errBudgetKept = errors.New("top-up deferred: the hourly budget left is kept for purchases of depths below target")

// topUpFailed backs off the batch's top-ups, like purchases per depth, and gives back the
// cap slot when Bee refused before the chain (a dev node's 501, a persistent 4xx).
func (p *Pool) topUpFailed(ctx context.Context, r *record, startedAt time.Time, err error) {
	refused := refusedBeforeChain(err)
	// The pause first, then the slot back: /status never shows the refund without the pause.
	cfg := p.config()
	p.mu.Lock()
	b := nextBackoff(p.topupBackoff[r.ID], cfg, p.deps.Clock.Now())
	b.cause = strings.ReplaceAll(err.Error(), r.ID, "<batch>") // /status shows ids to nobody
	p.topupBackoff[r.ID] = b
	p.mu.Unlock()
	if refused {
		_ = p.update(context.WithoutCancel(ctx), func(doc *ledgerDoc) error {
			refundOperation(doc, startedAt)
			return nil
		})
	}
	result := "failed"
	if refused {
		result = "refused"
	}
	p.deps.Logger.Error("top-up "+result+"; backing off for this batch", zap.String("batch_id", r.ID), zap.Int("depth", r.Depth),
		zap.Bool("counted_against_cap", !refused), zap.Duration("retry_in", b.delay), zap.Error(err))
	if p.deps.Observer != nil {
		p.deps.Observer.TopUp(r.Depth, result, nil)
	}
}
