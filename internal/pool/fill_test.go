package pool

import (
	"context"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/replay"
)

// fillBee is an in-memory Bee whose batches' buckets fill like Bee's: each stamped chunk
// lands in a random bucket.
type fillBee struct {
	mu      sync.Mutex
	rng     *rand.Rand
	stamps  map[string]*bee.Stamp
	buckets map[string][]int
	polls   int
	block   uint64
	bought  int
	amounts []*big.Int // asked for by BuyStamp
	topUps  int
	dilutes []int
}

func newFillBee() *fillBee {
	return &fillBee{rng: rand.New(rand.NewPCG(3, 4)), stamps: map[string]*bee.Stamp{}, buckets: map[string][]int{}, block: 1000}
}

func (b *fillBee) add(id string, depth int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stamps[id] = &bee.Stamp{BatchID: id, Depth: depth, Usable: true, Exists: true, BatchTTL: 7 * 24 * 3600, Label: "x-" + id, Amount: big.NewInt(1)}
	b.buckets[id] = make([]int, buckets)
}

// stamp puts n chunks into id's buckets; it reports whether one overflowed (Bee's 402).
func (b *fillBee) stamp(id string, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, bk := b.stamps[id], b.buckets[id]
	limit := bucketCapacity(s.Depth)
	overflow := false
	for range n {
		i := b.rng.IntN(buckets)
		if bk[i] >= limit {
			overflow = true
			continue
		}
		bk[i]++
		s.Utilization = max(s.Utilization, bk[i])
	}
	s.UtilizationRatio = float64(s.Utilization) / float64(limit)
	return overflow
}

func (b *fillBee) Stamps(context.Context) ([]bee.Stamp, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []bee.Stamp{}
	for _, s := range b.stamps {
		out = append(out, *s)
	}
	return out, nil
}

func (b *fillBee) Stamp(_ context.Context, id string) (bee.Stamp, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.stamps[id]; ok {
		return *s, nil
	}
	return bee.Stamp{}, bee.ErrNotFound
}

func (b *fillBee) BuyStamp(_ context.Context, amount *big.Int, _ int, _ string, _ bool) (string, error) {
	b.mu.Lock()
	b.bought++
	b.amounts = append(b.amounts, amount)
	b.mu.Unlock()
	return "", &bee.APIError{Status: 400, Message: "out of funds"}
}

func (b *fillBee) TopUp(context.Context, string, *big.Int) error {
	b.mu.Lock()
	b.topUps++
	b.mu.Unlock()
	return nil
}

func (b *fillBee) ChainState(context.Context) (bee.ChainState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bee.ChainState{Block: b.block, ChainTip: b.block, CurrentPrice: big.NewInt(24000), TotalAmount: big.NewInt(0)}, nil
}

func (b *fillBee) Buckets(_ context.Context, id string) (bee.Buckets, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.polls++
	s, ok := b.stamps[id]
	if !ok {
		return bee.Buckets{}, bee.ErrNotFound
	}
	return bee.Buckets{Depth: s.Depth, BucketDepth: 16, UpperBound: bucketCapacity(s.Depth), Collisions: append([]int(nil), b.buckets[id]...)}, nil
}

func (b *fillBee) pollCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.polls
}

// fillPool is a pool on fillBee and a fake clock, not started: the test drives sync.
func fillPool(t *testing.T, fb *fillBee, clock *fakeClock, reserve map[int]int, ids ...string) *Pool {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Reserve = reserve
	cfg.MaxPurchasesPerHour = 0 // nothing bought: these tests are about what is held
	p, err := New(cfg, Deps{Bee: fb, Storage: newMemStorage(), NodeKey: "http://bee", Clock: clock})
	require.NoError(t, err)
	p.gc.lock = fastLock
	t.Cleanup(p.gc.stop)
	require.NoError(t, p.update(context.Background(), func(d *ledgerDoc) error {
		for _, id := range ids {
			s := fb.stamps[id]
			d.Batches = append(d.Batches, &record{ID: id, Depth: s.Depth, Label: s.Label, State: Reserve, Amount: "1",
				SeenOnChain: true, LastSeen: clock.Now()})
		}
		return nil
	}))
	require.NoError(t, p.sync(context.Background()))
	return p
}

func retiredReason(t *testing.T, p *Pool, id string) string {
	t.Helper()
	p.mu.RLock()
	defer p.mu.RUnlock()
	r := p.doc.find(id)
	require.NotNil(t, r)
	if r.State != Retired {
		return ""
	}
	return r.RetiredReason
}

// Bee's utilisation (the fullest bucket) says a depth-17 batch is full after ~1.4 MB; the
// pool keeps it until its effective capacity is used, reading the buckets rarely: at most once
// per minPollGap to follow the fill, once when Bee reports a full bucket the model does not
// expect yet (a first full bucket comes early at depth 17), and once to confirm the retirement.
func TestRetireOnCapacityNotOnTheFullestBucket(t *testing.T) {
	for _, c := range []struct {
		name               string
		step               time.Duration // clock advance per upload
		minReads, maxReads int
	}{{"burst", 0, 1, 2}, {"a minute per upload", time.Minute, 3, 13}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			fb := newFillBee()
			fb.add("a", 17)
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			p := fillPool(t, fb, clock, map[int]int{17: 1}, "a")

			b, err := p.ActiveFor(ctx, 100<<10)
			require.NoError(t, err)
			require.Equal(t, "a", b.ID)
			require.Zero(t, fb.pollCount(), "a batch Bee reports empty needs no bucket read")

			const upload = 25 // chunks (100 KiB)
			capacity := effectiveChunks(17)
			stamped, overflowed := 0, false
			for retiredReason(t, p, "a") == "" {
				b, err := p.ActiveFor(ctx, upload*chunkSize)
				require.NoError(t, err)
				require.Equal(t, "a", b.ID)
				if fb.stamp("a", upload) {
					overflowed = true
					break // Bee's 402: covered by ConfirmRejection's tests
				}
				stamped += upload
				p.RecordUpload("a", upload*chunkSize)
				clock.advance(c.step)
				require.NoError(t, p.sync(ctx))
				require.Less(t, float64(stamped), 1.1*capacity, "never retired")
			}
			t.Logf("stamped %d chunks (%.0f%% of the effective capacity), overflowed %v, %d bucket reads", stamped, 100*float64(stamped)/capacity, overflowed, fb.pollCount())
			s, _ := fb.Stamp(ctx, "a")
			require.Equal(t, 1.0, s.UtilizationRatio, "the fullest bucket was full long before")
			require.False(t, overflowed, "this seed fills to usage_max without a 402")
			require.Contains(t, retiredReason(t, p, "a"), "capacity")
			require.GreaterOrEqual(t, float64(stamped), p.cfg.UsageMax*capacity, "retired at usage_max of the effective capacity")
			require.GreaterOrEqual(t, fb.pollCount(), c.minReads)
			require.LessOrEqual(t, fb.pollCount(), c.maxReads)
		})
	}
}

// The retirement on risk: a batch whose histogram has many full buckets retires even
// below usage_max, when the next typical upload would likely overflow.
func TestRetireWhenTheTypicalUploadWouldOverflow(t *testing.T) {
	ctx := context.Background()
	fb := newFillBee()
	fb.add("a", 17)
	for i := range 6000 {
		fb.buckets["a"][i] = 2 // 6000 full buckets, 12000 chunks
	}
	fb.stamps["a"].Utilization, fb.stamps["a"].UtilizationRatio = 2, 1
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := fillPool(t, fb, clock, map[int]int{17: 1}, "a")
	p.cfg.UsageMax = 1 // the count alone would not retire it... (12000 chunks > capacity: it would)
	_, err := p.ActiveFor(ctx, 4096)
	require.NoError(t, err)
	require.NoError(t, p.sync(ctx))
	require.Contains(t, retiredReason(t, p, "a"), "capacity")
}

// An upload too large to replay goes to a batch with ample room: a second batch of the same
// depth is promoted, while small uploads keep filling the first.
func TestLargeUploadsGoWhereTheyFit(t *testing.T) {
	ctx := context.Background()
	fb := newFillBee()
	fb.add("a", 20)
	fb.add("b", 20)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := fillPool(t, fb, clock, map[int]int{20: 2}, "a", "b")
	first, err := p.ActiveFor(ctx, 100<<10)
	require.NoError(t, err)
	fb.stamp(first.ID, int(0.79*effectiveChunks(20)))
	p.RecordUpload(first.ID, int64(0.79*effectiveChunks(20))*chunkSize)
	require.NoError(t, p.sync(ctx))
	require.Empty(t, retiredReason(t, p, first.ID))

	small, err := p.ActiveFor(ctx, 100<<10)
	require.NoError(t, err)
	require.Equal(t, first.ID, small.ID, "a replayable upload may use the last 1%%")
	large, err := p.ActiveFor(ctx, 64<<20)
	require.NoError(t, err)
	require.NotEqual(t, first.ID, large.ID, "64 MiB cannot be replayed after a 402: it needs ample room")
	unknown, err := p.ActiveFor(ctx, -1)
	require.NoError(t, err)
	require.Equal(t, large.ID, unknown.ID, "an upload of unknown length is treated as too large to replay")
	again, err := p.ActiveFor(ctx, 100<<10)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "small uploads keep filling the older batch")
	st := p.Status()
	require.Len(t, st.ActiveBatches, 2)
	require.InDelta(t, 0.79, st.ActiveBatches[0].EffectiveFill, 0.005)
	require.Greater(t, st.ActiveBatches[1].CapacityLeftBytes, st.ActiveBatches[0].CapacityLeftBytes)
}

// The block time comes from the chain: a 12 s chain with the 5 s default configured buys
// 12/5 fewer blocks' worth, and a configured value that far off is reported.
func TestBlockTimeMeasuredFromTheChain(t *testing.T) {
	ctx := context.Background()
	fb := newFillBee()
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := fillPool(t, fb, clock, map[int]int{17: 1})
	p.cfg.BlockTimeConfigured = true
	require.Equal(t, 5*time.Second, p.blockTime(), "configured value until measured")
	for range 3 {
		clock.advance(10 * 12 * time.Second)
		fb.mu.Lock()
		fb.block += 10
		fb.mu.Unlock()
		require.NoError(t, p.sync(ctx))
	}
	require.Equal(t, 12*time.Second, p.blockTime())
	st := p.Status()
	require.Equal(t, 12*time.Second, st.BlockTime.Measured)
	require.Contains(t, st.BlockTime.Warning, "block_time 5s")
	week := amountFor(big.NewInt(24000), 7*24*time.Hour, p.blockTime())
	require.Equal(t, big.NewInt(24000*7*24*300), week, "a week of 12 s blocks")
	p.cfg.MaxPurchasesPerHour, p.cfg.PurchaseSpacing = 10, 0
	p.buyOne(ctx)
	require.Len(t, fb.amounts, 1)
	require.Equal(t, big.NewInt(24000*(7*24+1)*300), fb.amounts[0], "a purchase pays for duration + 1 h of 12 s blocks, not of 5 s ones")

	p.cfg.BlockTime = 11 * time.Second // within 20%
	clock.advance(10 * 12 * time.Second)
	fb.block += 10
	require.NoError(t, p.sync(ctx))
	require.Empty(t, p.Status().BlockTime.Warning)
}

func TestSpendFigures(t *testing.T) {
	fb := newFillBee()
	fb.add("a", 17)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := fillPool(t, fb, clock, map[int]int{17: 1}, "a")
	p.addSpent(new(big.Int).Mul(big.NewInt(5), new(big.Int).Exp(big.NewInt(10), big.NewInt(15), nil))) // 0.5 BZZ
	p.RecordUpload("a", 1<<20)
	sp := p.Status().Spend
	require.InDelta(t, 0.5, sp.SpentBZZ, 1e-12)
	require.Equal(t, int64(1<<20), sp.StampedBytes)
	require.InDelta(t, 2<<20, sp.BytesPerBZZ, 1e-6)
	require.True(t, strings.HasPrefix(sp.SpentPLUR.String(), "5"))
}

func (b *fillBee) Dilute(_ context.Context, id string, depth int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stamps[id]
	if depth <= s.Depth {
		return &bee.APIError{Status: 400, Message: "invalid depth"}
	}
	s.BatchTTL >>= uint(depth - s.Depth)
	s.Depth = depth
	b.dilutes = append(b.dilutes, depth)
	return nil
}

func TestCheapestDepthFollowsTheUploadRate(t *testing.T) {
	amount := big.NewInt(24000 * 121680) // a week of 5 s blocks
	week := 7 * 24 * time.Hour
	depths := []int{17, 20, 22}
	require.Equal(t, 17, cheapestDepth(depths, amount, week, 0, 0.8), "no traffic: the smallest batch")
	require.Equal(t, 17, cheapestDepth(depths, amount, week, 5, 0.8), "3 MB a week: fits a depth-17 batch")
	require.Equal(t, 20, cheapestDepth(depths, amount, week, 2000, 0.8), "1.2 GB a week")
	require.Equal(t, 22, cheapestDepth(depths, amount, week, 1<<20, 0.8), "1 MB/s")
	// Per stamped byte, a full depth-20 batch costs ~13x less than depth-17 ones (the issue says about 15x).
	ratio := costPerByte(17, amount, week, 1<<20, 0.8) / costPerByte(20, amount, week, 1<<20, 0.8)
	require.InDelta(t, 13.4, ratio, 0.5)
}

// With a lot of traffic and no reserve batch of the cheaper depth at hand, the active batch
// is diluted and topped up to keep its TTL, within the spending budget.
func TestDiluteWhenTrafficMakesADeeperBatchCheaper(t *testing.T) {
	ctx := context.Background()
	fb := newFillBee()
	fb.add("a", 17)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := fillPool(t, fb, clock, map[int]int{17: 1, 20: 0}, "a")
	p.cfg.MaxPurchasesPerHour, p.cfg.PurchaseSpacing = 10, 0
	b, err := p.ActiveFor(ctx, 100<<10)
	require.NoError(t, err)
	p.chooseInjectDepth()
	p.dilutions(ctx)
	require.Empty(t, fb.dilutes, "no traffic: depth 17 is the cheapest")
	require.Equal(t, 17, p.Status().InjectDepth)

	for range 4 {
		p.RecordUpload(b.ID, 2<<20)
		fb.stamp(b.ID, 512)
		clock.advance(time.Minute)
		require.NoError(t, p.sync(ctx))
		p.chooseInjectDepth()
	}
	require.Equal(t, 20, p.Status().InjectDepth, "%v B/s", p.Status().UploadRate)
	p.dilutions(ctx)
	require.Equal(t, []int{20}, fb.dilutes)
	require.Equal(t, 1, fb.topUps, "the halved TTL is topped up")
	st := p.Status()
	require.Equal(t, b.ID, st.Active[20].BatchID)
	require.Greater(t, st.Spend.SpentBZZ, 0.0)
	p.mu.RLock()
	ops := len(p.doc.Operations)
	p.mu.RUnlock()
	require.Equal(t, 2, ops, "dilution and top-up count against max_purchases_per_hour")
	p.dilutions(ctx)
	require.Equal(t, []int{20}, fb.dilutes, "diluted once")
}

// Where no batch has ample room for an upload too large to replay, the pool does not risk it:
// ErrEmpty with a retry time, a dilution of the active batch to the smallest depth whose
// roomier buckets take it (topped up to keep the TTL), and then that batch.
// twoBatchesOneActive is a pool of two depth-17 batches with room for ten purchases an hour,
// the first active after a 100 KiB upload asked for a batch.
func twoBatchesOneActive(t *testing.T) (*fillBee, *Pool, Batch) {
	t.Helper()
	fb := newFillBee()
	fb.add("a", 17)
	fb.add("b", 17)
	p := fillPool(t, fb, &fakeClock{now: time.Unix(1e9, 0)}, map[int]int{17: 2}, "a", "b")
	p.cfg.MaxPurchasesPerHour, p.cfg.PurchaseSpacing = 10, 0
	first, err := p.ActiveFor(context.Background(), 100<<10)
	require.NoError(t, err)
	return fb, p, first
}

func TestUnreplayableUploadWaitsForRoom(t *testing.T) {
	ctx := context.Background()
	fb, p, first := twoBatchesOneActive(t)
	var err error
	half := int(0.5 * effectiveChunks(17))
	fb.stamp(first.ID, half)
	p.RecordUpload(first.ID, int64(half)*chunkSize)
	require.NoError(t, p.sync(ctx))

	require.False(t, fitsFill(emptyFill(17), 2<<20, 0.8), "2 MiB in an empty depth-17 batch: over the 0.1% risk")
	_, err = p.ActiveFor(ctx, 2<<20)
	var empty *EmptyError
	require.ErrorAs(t, err, &empty)
	require.ErrorIs(t, err, ErrEmpty)
	require.Positive(t, empty.RetryAfter)
	require.Contains(t, err.Error(), "diluted to make room")
	require.Len(t, p.Available(), 1, "no reserve batch promoted for nothing: it would not take the upload either")

	p.dilutions(ctx)
	require.Equal(t, []int{18}, fb.dilutes, "one step makes room")
	require.Equal(t, 1, fb.topUps, "the halved TTL is topped up")
	big, err := p.ActiveFor(ctx, 2<<20)
	require.NoError(t, err)
	require.Equal(t, first.ID, big.ID)
	require.Equal(t, 18, big.Depth)
	small, err := p.ActiveFor(ctx, 100<<10)
	require.NoError(t, err)
	require.Equal(t, first.ID, small.ID, "small uploads keep filling the diluted batch")
	p.dilutions(ctx)
	require.Equal(t, []int{18}, fb.dilutes, "diluted once")

	// Depth 18 is not configured, but the batch takes injected uploads: it is topped up too.
	fb.mu.Lock()
	fb.stamps[first.ID].BatchTTL = 3600
	fb.mu.Unlock()
	require.NoError(t, p.sync(ctx))
	p.topUps(ctx)
	require.Equal(t, 2, fb.topUps, "the diluted batch's TTL fell below min_ttl")

	// The caller knows best: a small upload without a replay copy needs room too, and one
	// over the size rule that can be replayed does not.
	require.NoError(t, p.update(ctx, func(d *ledgerDoc) error { d.find(first.ID).State = Retired; return nil }))
	fresh, err := p.ActiveForUpload(ctx, 100<<10, false, "")
	require.NoError(t, err)
	require.Equal(t, "b", fresh.ID, "100 KiB fits an empty depth-17 batch with room to spare")
	fb.stamp("b", int(0.7*effectiveChunks(17)))
	p.RecordUpload("b", int64(0.7*effectiveChunks(17))*chunkSize)
	_, err = p.ActiveForUpload(ctx, 400<<10, false, "")
	require.ErrorIs(t, err, ErrEmpty, "400 KiB that cannot be replayed: not into a 70%% full depth-17 batch")
	again, err := p.ActiveForUpload(ctx, 400<<10, true, "")
	require.NoError(t, err)
	require.Equal(t, "b", again.ID)
	require.Greater(t, replayableStamped, int64(replay.Limit))
	require.Less(t, replayableStamped, int64(replay.Limit)*11/10)
}

// A Content-Length is only a claim: however large the upload an anonymous client announces,
// a dilution for room goes at most one step beyond the largest configured depth, and an
// upload even that would not take safely makes the pool spend nothing (it goes where there is
// most room, as before: Bee has the last word).
func TestClaimedSizeCannotDriveDilutionsDeep(t *testing.T) {
	ctx := context.Background()
	fb, p, first := twoBatchesOneActive(t)
	var err error

	huge, err := p.ActiveForUpload(ctx, 1<<30, false, "")
	require.NoError(t, err, "1 GiB: no batch of depth 18 would take it safely; best effort")
	require.Equal(t, first.ID, huge.ID)
	p.dilutions(ctx)
	require.Empty(t, fb.dilutes, "a claim the pool cannot make room for spends nothing")

	_, err = p.ActiveForUpload(ctx, -1, false, "")
	require.ErrorIs(t, err, ErrEmpty, "unknown length: room for 16 MiB")
	p.dilutions(ctx)
	require.Equal(t, []int{18}, fb.dilutes, "one step beyond the largest configured depth")
	p.RecordUpload(first.ID, 40<<20)
	fb.stamp(first.ID, 10000)
	p.deps.Clock.(*fakeClock).advance(time.Minute)
	require.NoError(t, p.sync(ctx))
	_, err = p.ActiveForUpload(ctx, 4<<20, false, "")
	require.ErrorIs(t, err, ErrEmpty, "the diluted batch is half full: no ample room for 4 MiB")
	require.Empty(t, p.Available(), "it is at depth 18 already: the reserve batch is promoted, to be diluted")
	p.dilutions(ctx)
	require.Equal(t, []int{18, 18}, fb.dilutes, "never beyond depth 18")
	got, err := p.ActiveForUpload(ctx, 4<<20, false, "")
	require.NoError(t, err)
	require.Equal(t, "b", got.ID)
}

// A need for room lasts while uploads ask for it: one nobody asked for again within
// roomNeedTTL spends nothing, nor one that a batch meets already.
func TestRoomNeedIsForgotten(t *testing.T) {
	ctx := context.Background()
	fb := newFillBee()
	fb.add("a", 17)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := fillPool(t, fb, clock, map[int]int{17: 1}, "a")
	p.cfg.MaxPurchasesPerHour, p.cfg.PurchaseSpacing = 10, 0
	_, err := p.ActiveFor(ctx, 100<<10)
	require.NoError(t, err)
	_, err = p.ActiveForUpload(ctx, 4<<20, false, "")
	require.ErrorIs(t, err, ErrEmpty)
	clock.advance(roomNeedTTL + time.Second)
	p.dilutions(ctx)
	require.Empty(t, fb.dilutes, "the client gave up")

	_, err = p.ActiveForUpload(ctx, 4<<20, false, "")
	require.ErrorIs(t, err, ErrEmpty)
	p.mu.Lock()
	p.cfg.Reserve = map[int]int{17: 1, 20: 0}
	p.mu.Unlock()
	fb.add("c", 20)
	require.NoError(t, p.update(ctx, func(d *ledgerDoc) error {
		d.Batches = append(d.Batches, &record{ID: "c", Depth: 20, Label: "x-c", State: Reserve, Amount: "1", SeenOnChain: true, LastSeen: clock.Now()})
		return nil
	}))
	p.dilutions(ctx)
	require.Empty(t, fb.dilutes, "a fresh depth-20 batch has the room")
	p.mu.RLock()
	need := p.roomNeed
	p.mu.RUnlock()
	require.Zero(t, need)
	got, err := p.ActiveForUpload(ctx, 4<<20, false, "")
	require.NoError(t, err)
	require.Equal(t, "c", got.ID)
}
