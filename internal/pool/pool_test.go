package pool

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/swarm"
)

const testBlock = 10 * time.Millisecond

// fileStorage is a directory-backed Storage with O_EXCL lock files, like certmagic's.
type fileStorage struct{ dir string }

func (f fileStorage) path(key string) string { return filepath.Join(f.dir, filepath.FromSlash(key)) }

func (f fileStorage) Lock(ctx context.Context, name string) error {
	p := f.path(name) + ".lock"
	_ = os.MkdirAll(filepath.Dir(p), 0o700)
	for {
		fh, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			return fh.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (f fileStorage) Unlock(_ context.Context, name string) error {
	return os.Remove(f.path(name) + ".lock")
}

func (f fileStorage) Store(_ context.Context, key string, value []byte) error {
	p := f.path(key)
	_ = os.MkdirAll(filepath.Dir(p), 0o700)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, value, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (f fileStorage) Load(_ context.Context, key string) ([]byte, error) {
	return os.ReadFile(f.path(key))
}

// env is a simulated Bee and a storage for pools on a fake clock: the pools and the
// simulated chain move only when a test advances that clock (await), so no test waits on the
// machine's clock and a loaded machine makes a test slower, never wrong.
type env struct {
	sim     *beesim.Sim
	client  *bee.Client
	storage fileStorage
	clock   *fakeClock
}

func newEnv(t *testing.T, opts beesim.Options) *env {
	t.Helper()
	if opts.BlockTime == 0 {
		opts.BlockTime = testBlock
	}
	clock := newFakeClock()
	opts.Now = clock.Now
	sim := beesim.New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	client, err := bee.New(srv.URL, bee.Options{PurchaseTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
	require.NoError(t, err)
	return &env{sim: sim, client: client, storage: fileStorage{dir: t.TempDir()}, clock: clock}
}

func fastConfig(reserve map[int]int) Config {
	cfg := DefaultConfig()
	cfg.Reserve = reserve
	cfg.BlockTime = testBlock
	cfg.PurchaseSpacing = 0
	cfg.CheckInterval = time.Second
	cfg.PollInterval = 5 * time.Millisecond
	cfg.PurchaseTimeout = 500 * time.Millisecond
	cfg.BackoffBase = 200 * time.Millisecond
	cfg.BackoffMax = time.Second
	cfg.IntentGrace = time.Minute
	cfg.MaxPurchasesPerHour = 1000
	return cfg
}

func (e *env) start(t *testing.T, cfg Config) *Pool {
	t.Helper()
	p, err := New(cfg, Deps{Bee: e.client, Storage: e.storage, NodeKey: "http://bee", Clock: e.clock})
	require.NoError(t, err)
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// await moves p's fake clock (and so the simulated chain's) on by one poll interval at a
// time until cond holds: every wait of the pool (polls, backoffs, timeouts) then ends after
// its own length of the pool's time, however slowly the machine runs.
func await(t *testing.T, p *Pool, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	clock := p.deps.Clock.(*fakeClock)
	step := p.config().pollInterval()
	require.Eventually(t, func() bool {
		if cond() {
			return true
		}
		clock.advance(step)
		return false
	}, 30*time.Second, time.Millisecond, msgAndArgs...)
}

// settle returns once a maintenance run begun after the call has completed and the pool is
// idle again: whatever it would still do about the present state (buy, top up, retire) is
// done. The clock stands still.
func settle(t *testing.T, p *Pool) {
	t.Helper()
	n := p.maintained.Load()
	p.TriggerCheck()
	// The wake-up is taken (by a run begun after it) and the purchaser waits again: that run
	// is over. (The wake-up is looked at first: one taken after that look means a whole run
	// happened since, before the purchaser was found waiting.)
	require.Eventually(t, func() bool { return p.maintained.Load() > n && len(p.wake) == 0 && purchasersIdle() },
		30*time.Second, time.Millisecond, "no maintenance run completed")
}

// purchasersIdle reports whether every pool's purchaser (run) waits for its next wake-up.
func purchasersIdle() bool {
	for _, g := range goroutineStacks() {
		if strings.Contains(g, ".(*Pool).run(") && (!strings.Contains(g, " [select") || strings.Contains(g, ".(*Pool).maintain(")) {
			return false
		}
	}
	return true
}

// goroutineStacks is every goroutine's stack, from one snapshot.
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func waitLevel(t *testing.T, p *Pool, depth, n int) {
	t.Helper()
	await(t, p, func() bool { return p.Status().CurrentLevels[depth] >= n },
		"reserve of depth %d never reached %d: %+v", depth, n, p.Status())
}

func ourBatches(sim *beesim.Sim) int {
	n := 0
	for range sim.Batches() {
		n++
	}
	return n
}

func TestFillsReserveToTargetAndNoMore(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	p := e.start(t, fastConfig(map[int]int{17: 2, 20: 1}))
	waitLevel(t, p, 17, 2)
	waitLevel(t, p, 20, 1)
	settle(t, p)
	require.Equal(t, 3, ourBatches(e.sim), "bought more than the target")
	require.Empty(t, p.Status().Errors)
}

func TestAcquireTriggersOneReplacementAndNeverRepeats(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	p := e.start(t, fastConfig(map[int]int{17: 3}))
	waitLevel(t, p, 17, 3)
	before := e.sim.Stats().Purchases

	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	var empty int
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _, err := p.Acquire(context.Background(), 17, false)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, ErrEmpty) {
				empty++
				return
			}
			require.NoError(t, err)
			require.False(t, seen[b.ID], "batch %s issued twice", b.ID)
			seen[b.ID] = true
		}()
	}
	wg.Wait()
	require.NotEmpty(t, seen)
	// Purchases cover the shortfall: at most one per issued batch plus the target.
	await(t, p, func() bool { return p.Status().CurrentLevels[17] == 3 })
	settle(t, p)
	bought := e.sim.Stats().Purchases - before
	require.LessOrEqual(t, bought, int64(len(seen)+3), "bought %d for %d issued", bought, len(seen))
}

func TestReplacementStartsAtOnce(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	cfg.CheckInterval = time.Hour
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 1)
	before := e.sim.Stats().Purchases
	_, _, err := p.Acquire(context.Background(), 17, false)
	require.NoError(t, err)
	// The pool's clock stands still: a replacement that waited for any timer (the hour's
	// check, a poll) would never come.
	require.Eventually(t, func() bool { return e.sim.Stats().Purchases > before }, 20*time.Second, time.Millisecond,
		"replacement not immediate")
}

func TestHungPurchaseIsAdoptedNotRebought(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	e.sim.SetPurchaseHang(true)
	core, logs := observer.New(zap.WarnLevel)
	p := startWith(t, e, fastConfig(map[int]int{17: 1}), e.client, zap.New(core))
	require.Eventually(t, func() bool { return e.sim.Stats().Purchases >= 1 }, 20*time.Second, time.Millisecond)
	await(t, p, func() bool { return logs.FilterMessage("purchase outcome unknown; will reconcile by label").Len() > 0 },
		"the purchase never timed out")
	e.sim.SetPurchaseHang(false)
	waitLevel(t, p, 17, 1)
	settle(t, p)
	require.EqualValues(t, 1, e.sim.Stats().Purchases, "a timed-out purchase was bought again")
}

func TestNoPurchaseWhileBeeSyncingOrDown(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	e.sim.Restart(time.Hour)
	p := e.start(t, fastConfig(map[int]int{17: 2}))
	await(t, p, func() bool { return len(p.Status().Errors) > 0 })
	settle(t, p)
	require.Zero(t, e.sim.Stats().Purchases)
	require.NotEmpty(t, p.Status().Errors)
	e.sim.ClearFaults()
	p.TriggerCheck()
	waitLevel(t, p, 17, 2)
}

func TestCorruptLedgerStopsSpending(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	key, _ := ledgerKeys("http://bee")
	require.NoError(t, e.storage.Store(context.Background(), key, []byte(`{"version":1,"batches":[{"id":`)))
	p := e.start(t, fastConfig(map[int]int{17: 1}))
	settle(t, p)
	require.Zero(t, e.sim.Stats().Purchases)
	st := p.Status()
	require.NotEmpty(t, st.Errors)
	require.Contains(t, st.Errors[0], "corrupt")
	_, _, err := p.Acquire(context.Background(), 17, false)
	require.ErrorIs(t, err, ErrLedgerUnavailable)
	raw, _ := e.storage.Load(context.Background(), key)
	require.Equal(t, `{"version":1,"batches":[{"id":`, string(raw), "a corrupt ledger must never be overwritten")
}

func TestOutOfFundsBacksOff(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	e.sim.SetPurchaseFailure(beesim.PurchaseOutOfFunds)
	cfg := fastConfig(map[int]int{17: 1})
	started := e.clock.Now()
	p := e.start(t, cfg)
	// An observation window of 700 ms of the pool's time.
	await(t, p, func() bool { return e.clock.Now().Sub(started) >= 700*time.Millisecond })
	n := e.sim.Stats().Requests["POST stamps"]
	elapsed := e.clock.Now().Sub(started)
	require.GreaterOrEqual(t, n, int64(1))
	require.LessOrEqual(t, n, int64(maxBackoffTries(elapsed, cfg)), "hot loop on out of funds: %d attempts in %s", n, elapsed)
	// The backoff shows in /status while it lasts (not between its end and the next refusal).
	await(t, p, func() bool { return containsText(p.Status().Errors, "purchases backing off") },
		"status never showed the backoff")
}

// maxBackoffTries is how many tries of one thing fit in elapsed when each failure waits
// cfg's backoff (base, doubling, capped) before the next: the first at 0.
func maxBackoffTries(elapsed time.Duration, cfg Config) int {
	tries := 0
	var b backoffState
	for at := time.Duration(0); at <= elapsed; at += b.delay {
		tries++
		b = nextBackoff(b, cfg, time.Time{})
	}
	return tries
}

func TestRestartKeepsLedgerAndIssuedStayIssued(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 2})
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 2)
	issued, _, err := p.Acquire(context.Background(), 17, false)
	require.NoError(t, err)
	waitLevel(t, p, 17, 2)
	p.Stop()
	bought := e.sim.Stats().Purchases

	p2 := e.start(t, cfg)
	waitLevel(t, p2, 17, 2)
	settle(t, p2)
	require.Equal(t, bought, e.sim.Stats().Purchases, "restart re-bought the reserve")
	for _, b := range p2.Available() {
		require.NotEqual(t, issued.ID, b.ID, "an issued batch came back to the reserve")
	}
}

func TestHourlyCapHoldsAcrossRestart(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 5})
	cfg.MaxPurchasesPerHour = 2
	p := e.start(t, cfg)
	await(t, p, func() bool { return e.sim.Stats().Purchases == 2 })
	p.Stop()
	p2 := e.start(t, cfg)
	settle(t, p2)
	require.EqualValues(t, 2, e.sim.Stats().Purchases)
	require.Equal(t, 2, p2.Status().PurchasesLastHour)
}

func TestReconfigureKeepsRuntime(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 1)
	done := p.done
	cfg.Reserve = map[int]int{17: 1, 20: 1}
	require.NoError(t, p.Reconfigure(cfg))
	waitLevel(t, p, 20, 1)
	require.Equal(t, done, p.done, "same purchaser")
	require.Equal(t, 2, ourBatches(e.sim))
}

func TestTopUpBelowMinTTLNeverIssued(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 2})
	// Batches last duration+1h = 25h; a min_ttl just below makes them due at once.
	cfg.Duration = 24 * time.Hour
	cfg.MinTTL = 25*time.Hour - 500*time.Millisecond
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 2)
	issued, _, err := p.Acquire(context.Background(), 17, false)
	require.NoError(t, err)
	amountAt := func(id string) *big.Int {
		for _, b := range e.sim.Batches() {
			if b.BatchID == id {
				return b.Amount
			}
		}
		return nil
	}
	issuedAmount := amountAt(issued.ID)
	topUpsBefore := e.sim.Stats().TopUps
	// The replacement gets topped up like every reserve batch; the issued one never.
	await(t, p, func() bool { return e.sim.Stats().TopUps >= topUpsBefore+1 })
	require.Equal(t, 0, issuedAmount.Cmp(amountAt(issued.ID)), "an issued batch was topped up")
}

func TestTwoPoolsShareStorageWithoutDoubleSpend(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 3})
	a := e.start(t, cfg)
	b := e.start(t, cfg)
	waitLevel(t, a, 17, 3)
	settle(t, a)
	settle(t, b)
	require.Equal(t, 3, ourBatches(e.sim), "two instances bought the same shortfall")
	ids := map[string]bool{}
	for i := 0; i < 6; i++ {
		p := a
		if i%2 == 1 {
			p = b
		}
		got, _, err := p.Acquire(context.Background(), 17, false)
		if errors.Is(err, ErrEmpty) {
			continue
		}
		require.NoError(t, err)
		require.False(t, ids[got.ID], "issued twice across instances")
		ids[got.ID] = true
	}
}

func TestForeignBatchesWithOurPrefixAreNotAdopted(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	price := big.NewInt(24000)
	e.sim.CreateBatch(17, new(big.Int).Mul(price, big.NewInt(1_000_000)), "caddy-bee-17-foreign", true, true)
	p := e.start(t, fastConfig(map[int]int{17: 1}))
	waitLevel(t, p, 17, 1)
	for _, b := range p.Available() {
		require.NotEqual(t, "caddy-bee-17-foreign", b.Label)
	}
}

func TestActiveForPromotesAndRetire(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	p := e.start(t, fastConfig(map[int]int{17: 1, 20: 1}))
	waitLevel(t, p, 17, 1)
	waitLevel(t, p, 20, 1)
	small, err := p.ActiveFor(context.Background(), 1000)
	require.NoError(t, err)
	require.Equal(t, 17, small.Depth)
	again, err := p.ActiveFor(context.Background(), 1000)
	require.NoError(t, err)
	require.Equal(t, small.ID, again.ID)
	big, err := p.ActiveFor(context.Background(), 100<<20)
	require.NoError(t, err)
	require.Equal(t, 20, big.Depth, "a 100 MB upload goes to the larger depth")
	require.NoError(t, p.Retire(context.Background(), small.ID, "bee answered 402 to an upload"))
	waitLevel(t, p, 17, 1)
	next, err := p.ActiveFor(context.Background(), 1000)
	require.NoError(t, err)
	require.NotEqual(t, small.ID, next.ID)
}

func TestCapacityEstimate(t *testing.T) {
	c17 := capacityBytes(17)
	require.Greater(t, c17, int64(5<<20))
	require.Less(t, c17, int64(20<<20), "a depth-17 batch holds a few MB")
	require.Greater(t, capacityBytes(20), 8*c17)
}

// Uploads are judged by the chunks Bee stamps for them: at MEDIUM a small upload takes its
// chunk plus two root replicas, a large one about 8% more than at level 0.
func TestStampedBytesCountsRedundancy(t *testing.T) {
	require.EqualValues(t, 4096, StampedBytes(1000, swarm.LevelNone))
	require.EqualValues(t, 3*4096, StampedBytes(1000, swarm.LevelMedium))
	require.EqualValues(t, -1, StampedBytes(-1, swarm.LevelMedium))
	none, medium := StampedBytes(100<<20, swarm.LevelNone), StampedBytes(100<<20, swarm.LevelMedium)
	require.Greater(t, medium, none*107/100)
	require.Less(t, medium, none*110/100)
}

func TestAmountArithmetic(t *testing.T) {
	price := big.NewInt(24000)
	got := amountFor(price, 169*time.Hour, 5*time.Second)
	require.Equal(t, new(big.Int).Mul(price, big.NewInt(121680)).String(), got.String())
	minimum := amountFor(price, time.Minute, 5*time.Second)
	require.Equal(t, new(big.Int).Add(new(big.Int).Mul(price, big.NewInt(17280)), big.NewInt(1)).String(), minimum.String())
}

var _ = fs.ErrNotExist

// Issued and retired records leave the ledger after HistoryRetention, so the ledger (written
// on every acquire) does not grow forever; a pruned batch still on chain is never adopted
// back or handed out again.
func TestHistoryIsPrunedAndNeverReadopted(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	cfg.HistoryRetention = time.Hour
	// The retention passes on the pool's clock, not the machine's: a slow run cannot prune early.
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 1)
	issued, _, err := p.Acquire(context.Background(), 17, false)
	require.NoError(t, err)
	waitLevel(t, p, 17, 1)

	inLedger := func(id string) bool {
		key, _ := ledgerKeys("http://bee")
		raw, err := e.storage.Load(context.Background(), key)
		require.NoError(t, err)
		return strings.Contains(string(raw), id)
	}
	require.True(t, inLedger(issued.ID), "kept while recent")
	e.clock.advance(cfg.HistoryRetention + time.Minute)
	second, _, err := p.Acquire(context.Background(), 17, false) // any write prunes
	require.NoError(t, err)
	require.False(t, inLedger(issued.ID), "pruned after the retention")
	require.True(t, inLedger(second.ID))

	// Several syncs later the old batch, still on chain, is neither adopted nor handed out.
	waitLevel(t, p, 17, 1)
	for range 2 {
		triggered := p.TriggerCheck()
		await(t, p, func() bool { return p.Status().LastCheck.After(triggered) }, "no sync after the trigger")
	}
	require.False(t, inLedger(issued.ID), "a pruned batch came back")
	for _, b := range p.Available() {
		require.NotEqual(t, issued.ID, b.ID)
	}
	require.Len(t, e.sim.Batches(), 3, "one batch per acquire plus the reserve, nothing more")
}

// Bee's 429 (another on-chain operation in flight, e.g. our own purchase still being mined
// after a crash) is retried within seconds, not after the escalating failure backoff.
func TestBusyBeeIsRetriedSoonNotBackedOff(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, 2*time.Hour // a real failure would stop this test cold
	e.sim.SetPurchaseFailure(beesim.PurchaseBusy)
	p := e.start(t, cfg)
	await(t, p, func() bool { return e.sim.Stats().Requests["POST stamps"] >= 1 })
	e.sim.SetPurchaseFailure("")
	began := e.clock.Now()
	waitLevel(t, p, 17, 1)
	require.Less(t, e.clock.Now().Sub(began), 15*time.Second)
}

// The stored form decodes and verifies (the checksum trick in encode matches checksum()),
// and a deep copy is equal but shares nothing.
func TestLedgerEncodeAndDeepCopy(t *testing.T) {
	now := time.Now().UTC()
	doc := &ledgerDoc{Version: ledgerV1, Node: "http://bee", Operations: []time.Time{now},
		Batches: []*record{{ID: strings.Repeat("a", 64), Label: "caddy-bee-17-x", Depth: 17, State: Reserve, Amount: "123", BoughtAt: now}},
		Intents: []*intent{{Label: "caddy-bee-17-y", Depth: 17, Amount: "123", StartedAt: now}}}
	raw, err := doc.encode()
	require.NoError(t, err)
	back, err := decodeLedger(raw, "k")
	require.NoError(t, err, "%s", raw)
	require.Equal(t, doc.Checksum, back.Checksum)

	c := doc.deepCopy()
	a, _ := json.Marshal(doc)
	b, _ := json.Marshal(c)
	require.JSONEq(t, string(a), string(b))
	c.Batches[0].State, c.Intents[0].Label, c.Operations[0] = Issued, "other", time.Time{}
	require.Equal(t, Reserve, doc.Batches[0].State, "the copy shares a record")
	require.Equal(t, "caddy-bee-17-y", doc.Intents[0].Label, "the copy shares an intent")
	require.Equal(t, now, doc.Operations[0], "the copy shares operations")

	// deepCopy copies records and intents by value: that stays right only while they hold
	// no pointers, slices or maps.
	for _, v := range []any{record{}, intent{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			switch typ.Field(i).Type.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
				t.Errorf("%s.%s is a reference: teach deepCopy to copy it", typ.Name(), typ.Field(i).Name)
			}
		}
	}
}

// staleBee answers Stamps with an empty list, as Bee did a moment before a new batch was
// listed, after running meanwhile (e.g. another instance's newer sync).
type staleBee struct {
	Bee
	meanwhile func()
}

func (s staleBee) Stamps(context.Context) ([]bee.Stamp, error) {
	if s.meanwhile != nil {
		s.meanwhile()
	}
	return nil, nil
}

// Two instances share a ledger: one applies a listing older than what the other has already
// recorded. A batch missing from that old listing is not "gone" - it was just not listed yet
// when the listing was taken - and must not be retired (a paid batch lost). Found by the
// two-instance test under CPU load.
func TestStaleListingNeverRetiresABatchSeenSince(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	p := e.start(t, cfg)
	waitLevel(t, p, 17, 1)
	id := p.Available()[0].ID
	p.Stop()

	newPool := func(b Bee) *Pool {
		q, err := New(cfg, Deps{Bee: b, Storage: e.storage, NodeKey: "http://bee", Clock: e.clock})
		require.NoError(t, err)
		return q
	}
	other := newPool(e.client)
	stale := newPool(staleBee{Bee: e.client, meanwhile: func() { require.NoError(t, other.sync(context.Background())) }})
	require.NoError(t, stale.sync(context.Background()))
	require.Equal(t, Reserve, stateOf(t, e, id), "retired on a listing older than the last sighting")

	// A listing begun after the last sighting that lacks the batch does retire it.
	e.clock.advance(time.Millisecond)
	require.NoError(t, newPool(staleBee{Bee: e.client}).sync(context.Background()))
	require.Equal(t, Retired, stateOf(t, e, id))
}

func stateOf(t *testing.T, e *env, id string) State {
	t.Helper()
	key, _ := ledgerKeys("http://bee")
	raw, err := e.storage.Load(context.Background(), key)
	require.NoError(t, err)
	doc, err := decodeLedger(raw, key)
	require.NoError(t, err)
	r := doc.find(id)
	require.NotNil(t, r)
	return r.State
}
