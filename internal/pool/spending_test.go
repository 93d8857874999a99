package pool

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/beesim"
)

func TestRejectsBatchOnlyOnBeesExactMessages(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   bool
	}{
		{402, `{"code":402,"message":"batch is overissued"}`, true},
		{404, `{"code":404,"message":"batch with id not found"}`, true},
		{422, `{"code":422,"message":"batch not usable yet or does not exist"}`, true},
		{404, `{"code":404,"message":"tag not found"}`, false},
		{404, `{"code":404,"message":"act or history entry not found"}`, false},
		{404, `{"code":404,"message":"Not Found"}`, false},
		{402, `{"code":402,"message":"batch with id not found"}`, false}, // message of another status
		{500, `{"code":500,"message":"batch is overissued"}`, false},
		{404, `batch with id not found`, false}, // not Bee's envelope
		{404, `{"message":"my batch with id not found, says the client"}`, false},
	} {
		require.Equal(t, c.want, RejectsBatch(c.status, []byte(c.body)), "%d %s", c.status, c.body)
	}
}

// countingBee counts GET /stamps/{id} and can hold them until released.
type countingBee struct {
	*bee.Client
	mu    sync.Mutex
	calls int
	gate  chan struct{}
}

func (c *countingBee) Stamp(ctx context.Context, id string) (bee.Stamp, error) {
	c.mu.Lock()
	c.calls++
	gate := c.gate
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return c.Client.Stamp(ctx, id)
}

func (c *countingBee) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func startWith(t *testing.T, e *env, cfg Config, b Bee, logger *zap.Logger) *Pool {
	t.Helper()
	p, err := New(cfg, Deps{Bee: b, Storage: e.storage, NodeKey: "http://bee", Logger: logger, Clock: e.clock})
	require.NoError(t, err)
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// A batch Bee still reports usable is kept, however many answers name it; a full one is
// retired, and a crowd of uploads refused at once costs Bee one lookup.
func TestConfirmRejectionNeedsBeesWordAndSharesOneLookup(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cb := &countingBee{Client: e.client}
	cfg := fastConfig(map[int]int{17: 2})
	cfg.CheckInterval = time.Hour
	cfg.ImmediateReplenish = false
	p := startWith(t, e, cfg, cb, nil)
	waitLevel(t, p, 17, 2)
	active, err := p.ActiveFor(context.Background(), 0)
	require.NoError(t, err)

	retired, err := p.ConfirmRejection(context.Background(), active.ID, 404, "batch with id not found")
	require.NoError(t, err)
	require.False(t, retired, "Bee reports the batch usable: it stays")
	require.Equal(t, Active, stateOf(t, e, active.ID))
	for i := 0; i < 50; i++ {
		_, _ = p.ConfirmRejection(context.Background(), active.ID, 404, "batch with id not found")
	}
	require.Equal(t, 1, cb.count(), "a recent outcome is reused, not looked up again")

	other, ok := "", false
	for _, b := range p.Available() {
		other, ok = b.ID, true
	}
	require.True(t, ok)
	require.True(t, e.sim.FillBatch(other))
	cb.mu.Lock()
	cb.gate = make(chan struct{})
	cb.mu.Unlock()
	var wg sync.WaitGroup
	results := make(chan bool, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := p.ConfirmRejection(context.Background(), other, 402, "batch is overissued")
			require.NoError(t, err)
			results <- r
		}()
	}
	// The whole crowd waits on the one lookup (held at the gate) before Bee answers it.
	require.Eventually(t, func() bool { return cb.count() == 2 && goroutinesIn("singleflight.(*Group).Do") == 40 },
		20*time.Second, time.Millisecond)
	close(cb.gate)
	wg.Wait()
	close(results)
	for r := range results {
		require.True(t, r)
	}
	require.LessOrEqual(t, cb.count(), 3, "concurrent confirmations of one batch share a lookup")
	require.Equal(t, Retired, stateOf(t, e, other))
}

// Bee's refusals before the chain (out of funds: 400) leave the hourly budget untouched; a
// 500, which may have reached the chain, counts.
func TestRefusedPurchasesDoNotCountAgainstTheCap(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	e.sim.SetPurchaseFailure(beesim.PurchaseOutOfFunds)
	cfg := fastConfig(map[int]int{17: 1})
	cfg.MaxPurchasesPerHour = 2
	p := e.start(t, cfg)
	await(t, p, func() bool { return e.sim.Stats().Requests["POST stamps"] >= 3 })
	// (A refusal in flight holds its slot until Bee's answer is in.)
	await(t, p, func() bool { return p.Status().PurchasesLastHour == 0 }, "refusals were counted as purchases")

	e.sim.SetPurchaseFailure(beesim.PurchaseError)
	await(t, p, func() bool { return p.Status().PurchasesLastHour >= 1 })
	e.sim.SetPurchaseFailure("")
	waitLevel(t, p, 17, 1)
	require.LessOrEqual(t, p.Status().PurchasesLastHour, 2)
}

// A Bee that refuses every top-up (a dev node's 501) is asked again only after a per-batch
// backoff, the refusals cost no budget and show in /status, and the budget still buys the
// replacement of an acquired batch.
func TestRefusedTopUpsBackOffAndLeaveBudgetForPurchases(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	e.sim.SetTopUpFailure(beesim.TopUpNotImplemented)
	cfg := fastConfig(map[int]int{17: 2})
	cfg.Duration = 24 * time.Hour
	cfg.MinTTL = 25*time.Hour - 500*time.Millisecond // every batch is due for a top-up at once
	cfg.MaxPurchasesPerHour = 3
	cfg.CheckInterval = 50 * time.Millisecond
	cfg.BackoffBase, cfg.BackoffMax = 300*time.Millisecond, time.Hour
	started := e.clock.Now()
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 2)
	await(t, p, func() bool { return e.sim.Stats().Requests["PATCH stamps"] >= 2 })
	// An observation window of a second of the pool's time after the first top-ups.
	window := e.clock.Now().Add(time.Second)
	await(t, p, func() bool { return !e.clock.Now().Before(window) })
	patches := e.sim.Stats().Requests["PATCH stamps"]
	// 2 batches, backoff 300 ms doubling: tries at 0, 0.3, 0.9, 2.1 s... after each batch's
	// first, not one per 50 ms run. The bound follows the pool's time since its start.
	elapsed := e.clock.Now().Sub(started)
	require.LessOrEqual(t, patches, int64(2*maxBackoffTries(elapsed, cfg)), "top-ups of 2 batches in %s", elapsed)
	// A top-up holds its slot while Bee is asked; a refusal gives it back and pauses that
	// batch's top-ups, which /status shows while the pause lasts. (Between a pause's end and
	// the next refusal both conditions need not hold at once: wait for a moment they do.)
	var st Status
	await(t, p, func() bool {
		st = p.Status()
		return st.PurchasesLastHour == 2 && containsText(st.Errors, "top-up")
	}, "refused top-ups counted against the cap or not shown in /status")
	require.False(t, containsText(st.Errors, e.sim.Batches()[0].BatchID), "status names no batch id")

	_, _, err := p.Acquire(context.Background(), 17, false)
	require.NoError(t, err)
	await(t, p, func() bool { return e.sim.Stats().Purchases == 3 })
	waitLevel(t, p, 17, 2)
}

// With one operation left in the hour, a depth below target is bought before any top-up.
func TestShortBudgetBuysBeforeTopUp(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 2})
	cfg.MaxPurchasesPerHour = 3
	cfg.ImmediateReplenish = false
	cfg.CheckInterval = time.Hour
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 2)
	settle(t, p) // the run that found the reserve full is over
	_, _, err := p.Acquire(context.Background(), 17, false)
	require.NoError(t, err)
	require.EqualValues(t, 2, e.sim.Stats().Purchases)

	cfg.Duration = 24 * time.Hour
	cfg.MinTTL = 25*time.Hour - 500*time.Millisecond // the remaining batch is due for a top-up too
	e.clock.advance(600 * time.Millisecond)
	require.NoError(t, p.Reconfigure(cfg))
	waitLevel(t, p, 17, 2)
	settle(t, p)
	require.EqualValues(t, 3, e.sim.Stats().Purchases)
	require.Zero(t, e.sim.Stats().TopUps, "the last operation of the hour went to a top-up")
	require.True(t, containsText(p.Status().Errors, "max_purchases_per_hour 3 reached"), "%v", p.Status().Errors)
}

// A reached cap is in /status with its end, in RetryAfter and the empty error, and in the
// log once, however often maintenance runs.
func TestReachedCapIsReportedWithItsEnd(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	core, logs := observer.New(zap.InfoLevel)
	cfg := fastConfig(map[int]int{17: 1})
	cfg.MaxPurchasesPerHour = 1
	cfg.CheckInterval = 20 * time.Millisecond
	p := startWith(t, e, cfg, e.client, zap.New(core))
	waitLevel(t, p, 17, 1)
	_, _, err := p.Acquire(context.Background(), 17, false)
	require.NoError(t, err)
	_, _, err = p.Acquire(context.Background(), 17, false)
	var empty *EmptyError
	require.ErrorAs(t, err, &empty)
	require.Greater(t, empty.RetryAfter, 55*time.Minute, "Retry-After must be the cap's end, not a purchase's few seconds")
	require.Contains(t, empty.Cause, "max_purchases_per_hour 1 reached")
	require.Contains(t, err.Error(), "purchases blocked")

	st := p.Status()
	require.True(t, containsText(st.Errors, "max_purchases_per_hour 1 reached"), "%v", st.Errors)
	require.True(t, containsText(st.Errors, " until "+e.clock.Now().UTC().Add(time.Hour).Format("2006-01-02T15")), "%v", st.Errors)
	for range 15 { // many maintenance runs, each at its check interval
		n := p.maintained.Load()
		await(t, p, func() bool { return p.maintained.Load() > n })
	}
	require.Equal(t, 1, logs.FilterMessage("pool spending blocked").Len(), "one log line per change, not per run")
}

func TestHugeTTLSaturates(t *testing.T) {
	require.Greater(t, ttlOf(31_900_000_000), 290*365*24*time.Hour)
	require.Equal(t, 5*time.Second, ttlOf(5))
	b := toBatch(&record{TTLSeconds: 31_900_000_000})
	require.Positive(t, b.TTL)
}

// However many requests find the pool empty, Bee sees at most one request-driven sync per
// RequestCheckGap.
func TestRequestDrivenChecksAreRateLimited(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	e.sim.SetPurchaseFailure(beesim.PurchaseOutOfFunds)
	cfg := fastConfig(map[int]int{17: 1})
	cfg.CheckInterval = time.Hour
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	cfg.RequestCheckGap = 3 * time.Second
	p := e.start(t, cfg)
	await(t, p, func() bool { return e.sim.Stats().Requests["POST stamps"] >= 1 })
	settle(t, p)
	before := e.sim.Stats().Requests["GET stamps"]
	// A second of the pool's time, a request every millisecond.
	n := 0
	for range 1000 {
		_, err := p.ActiveFor(context.Background(), 100)
		require.ErrorIs(t, err, ErrEmpty)
		n++
		e.clock.advance(time.Millisecond)
	}
	// One sync is two reads of class "stamps": GET /stamps and GET /chainstate.
	reads := e.sim.Stats().Requests["GET stamps"] - before
	t.Logf("%d requests on an empty pool in 1 s caused %d reads of Bee's batches and chain state", n, reads)
	require.LessOrEqual(t, reads, int64(2))
}

func containsText(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// Spending off and an unknown inventory are named in /status and in the empty pool's
// answer, with the wait they imply.
func TestSpendingOffAndUnknownInventoryAreNamed(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	cfg.MaxPurchasesPerHour = 0
	p := e.start(t, cfg)
	await(t, p, func() bool { return containsText(p.Status().Errors, "spending off (max_purchases_per_hour 0)") },
		"%v", p.Status().Errors)
	_, err := p.ActiveFor(context.Background(), 10)
	var empty *EmptyError
	require.ErrorAs(t, err, &empty)
	require.Contains(t, empty.Cause, "spending off")
	require.Greater(t, empty.RetryAfter, 59*time.Minute)
	require.Zero(t, e.sim.Stats().Purchases)

	e.sim.Restart(time.Hour)
	p.TriggerCheck()
	await(t, p, func() bool {
		return containsText(p.Status().Errors, "inventory unknown: spending stopped at least until ")
	}, "%v", p.Status().Errors)
	_, err = p.ActiveFor(context.Background(), 10)
	require.ErrorAs(t, err, &empty)
	require.Contains(t, empty.Cause, "inventory unknown (Bee or the ledger unreadable)")
	require.NotContains(t, empty.Cause, "127.0.0.1", "Bee's address stays out of anonymous answers")
}

// goroutinesIn counts the goroutines with fn on their stack.
func goroutinesIn(fn string) int {
	count := 0
	for _, g := range goroutineStacks() {
		if strings.Contains(g, fn) {
			count++
		}
	}
	return count
}
