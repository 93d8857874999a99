package pool

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// memStorage is the test kit's in-memory Storage (locks that never expire), with the
// ledger decoded as stored.
type memStorage struct{ *testkit.MemStorage }

func newMemStorage() *memStorage { return &memStorage{testkit.NewMemStorage()} }

// stored decodes the ledger as the storage holds it now.
func (m *memStorage) stored(t *testing.T, p *Pool) *ledgerDoc {
	t.Helper()
	raw, err := m.Load(context.Background(), p.key)
	require.NoError(t, err)
	doc, err := decodeLedger(raw, p.key)
	require.NoError(t, err)
	return doc
}

var fastLock = ledgerLock{probe: 5 * time.Millisecond, busyAfter: 20 * time.Millisecond, holdMax: 10 * time.Second, takeover: 100 * time.Millisecond}

// lockTestPool is a pool on st that is never started: updates only, no purchases. Its clock
// is a fake one of its own (see whileLockWaits).
func lockTestPool(t *testing.T, st Storage, wait time.Duration) *Pool {
	t.Helper()
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	cfg.LedgerWait = wait
	p, err := New(cfg, Deps{Bee: e.client, Storage: st, NodeKey: "http://bee", Clock: newFakeClock()})
	require.NoError(t, err)
	p.gc.lock = fastLock
	t.Cleanup(p.gc.stop)
	return p
}

// lockPump moves p's fake clock on by one lock probe each time a Lock call on st begins to
// wait for a held lock: the committer's waits (probe, takeover) and its callers' (LedgerWait)
// come due in the pool's time and in their order, however slowly the machine runs.
type lockPump struct {
	p    *Pool
	st   *memStorage
	seen atomic.Int64
}

func newLockPump(p *Pool, st *memStorage) *lockPump { return &lockPump{p: p, st: st} }

func (l *lockPump) pump() {
	if n := l.st.Waits(); n > l.seen.Load() {
		l.seen.Store(n)
		l.p.deps.Clock.(*fakeClock).advance(l.p.gc.lock.probe)
	}
}

// run runs f, pumping until it returns, and returns its error.
func (l *lockPump) run(f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	tick := time.NewTicker(100 * time.Microsecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			l.pump()
		}
	}
}

// eventually is require.Eventually, pumping meanwhile.
func (l *lockPump) eventually(t *testing.T, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, func() bool {
		l.pump()
		return cond()
	}, 10*time.Second, 100*time.Microsecond, msgAndArgs...)
}

// setLedgerLock changes p's lock timings once its committer has ended (it reads them
// without a lock; g.mu orders this write before the next committer starts).
func setLedgerLock(t *testing.T, lp *lockPump, l ledgerLock) {
	t.Helper()
	g := lp.p.gc
	lp.eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.running {
			return false
		}
		g.lock = l
		return true
	}, "the ledger committer never ended")
}

func addBatch(id string, state State) func(*ledgerDoc) error {
	return func(d *ledgerDoc) error {
		d.Batches = append(d.Batches, &record{ID: id, Depth: 17, State: state, Amount: "1"})
		return nil
	}
}

func TestDeadHoldersLockIsTakenOverAndAbandonedUpdatesAreDropped(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	ctx := context.Background()
	require.NoError(t, p.update(ctx, addBatch("b1", Reserve)))
	fence := st.stored(t, p).Fence
	dead := lockName(p.lock, fence, 0)
	require.NoError(t, st.Lock(ctx, dead)) // another instance took it and died
	lp := newLockPump(p, st)

	// A caller waits at most LedgerWait, gets ErrLedgerBusy, and its update is never applied.
	// The takeover stays out of reach meanwhile, so a late timer on a loaded machine cannot
	// let the committer in before the caller gives up.
	setLedgerLock(t, lp, ledgerLock{probe: fastLock.probe, busyAfter: fastLock.busyAfter, holdMax: fastLock.holdMax, takeover: time.Hour})
	cfg := p.config()
	cfg.LedgerWait = 20 * time.Millisecond
	require.NoError(t, p.Reconfigure(cfg))
	err := lp.run(func() error {
		_, _, err := p.Acquire(ctx, 17, false)
		return err
	})
	require.ErrorIs(t, err, ErrLedgerBusy)
	require.ErrorIs(t, err, ErrLedgerUnavailable)
	lp.eventually(t, func() bool {
		return strings.Contains(strings.Join(p.Status().Errors, " "), "pool ledger busy")
	}, "status never said the ledger is busy")

	// Waiting callers keep the committer trying; past the takeover time it writes anyway.
	setLedgerLock(t, lp, fastLock)
	cfg.LedgerWait = 10 * time.Second
	require.NoError(t, p.Reconfigure(cfg))
	require.NoError(t, lp.run(func() error { return p.update(ctx, addBatch("b2", Reserve)) }))

	doc := st.stored(t, p)
	require.Equal(t, fence+1, doc.Fence)
	require.Equal(t, Reserve, doc.find("b1").State, "the abandoned acquire was applied after its caller got 503")
	require.NotNil(t, doc.find("b2"))
	// The caller is answered before the committer unlocks: wait for the unlock.
	require.Eventually(t, func() bool { return !st.Locked(dead) }, 5*time.Second, time.Millisecond,
		"the dead holder's lock was left behind")
	require.NotContains(t, strings.Join(p.Status().Errors, " "), "pool ledger busy")
}

func TestFencingRefusesAWriterThatLostItsHold(t *testing.T) {
	st := newMemStorage()
	a := lockTestPool(t, st, 10*time.Second)
	b := lockTestPool(t, st, 10*time.Second)
	ctx := context.Background()
	require.NoError(t, a.update(ctx, addBatch("b1", Reserve)))

	// a holds the lock and stalls (a long pause) inside its read-modify-write.
	stalled, resume := make(chan struct{}), make(chan struct{})
	aErr := make(chan error, 1)
	go func() {
		aErr <- a.update(ctx, func(d *ledgerDoc) error {
			close(stalled)
			<-resume
			d.find("b1").State = Issued
			return nil
		})
	}()
	<-stalled
	// b sees the lock held without progress, takes over and writes.
	require.NoError(t, newLockPump(b, st).run(func() error {
		return b.update(ctx, func(d *ledgerDoc) error {
			d.find("b1").State = Retired
			return nil
		})
	}))
	close(resume)
	err := <-aErr
	require.ErrorIs(t, err, ErrLedgerBusy)
	doc := st.stored(t, a)
	require.Equal(t, Retired, doc.find("b1").State, "the stale writer overwrote newer state")

	// a recovers: its next update applies on top of b's write.
	require.NoError(t, a.update(ctx, addBatch("b2", Reserve)))
	doc = st.stored(t, a)
	require.Equal(t, Retired, doc.find("b1").State)
	require.NotNil(t, doc.find("b2"))
}

func TestGroupCommitAnswersEachCallerAfterOneSharedWrite(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	ctx := context.Background()
	require.NoError(t, p.update(ctx, addBatch("seed", Reserve)))
	before := st.Stores()

	// The first update's write is held at the storage while 15 more queue up behind it.
	inStore, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	st.BeforeStore = func() { once.Do(func() { close(inStore); <-release }) }
	const callers = 16
	errs := make(chan error, callers)
	check := func(id string) {
		err := p.update(ctx, addBatch(id, Reserve))
		if err == nil {
			raw, _ := st.Load(ctx, p.key)
			if doc, derr := decodeLedger(raw, p.key); derr != nil || doc.find(id) == nil {
				err = fmt.Errorf("%s answered before its write was stored (%v)", id, derr)
			}
		}
		errs <- err
	}
	go check("first")
	<-inStore
	for i := range callers - 1 {
		go check(fmt.Sprintf("b%d", i))
	}
	require.Eventually(t, func() bool {
		p.gc.mu.Lock()
		defer p.gc.mu.Unlock()
		return len(p.gc.queue) == callers-1
	}, 5*time.Second, time.Millisecond)
	close(release)
	for range callers {
		require.NoError(t, <-errs)
	}
	require.Equal(t, 2, st.Stores()-before, "16 concurrent updates: one write for the first, one for the 15 queued behind it")
	require.Len(t, st.stored(t, p).Batches, callers+1)
}

func TestFailedUpdateLeavesTheOthersInItsGroupAlone(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	ctx := context.Background()
	require.NoError(t, p.update(ctx, addBatch("b1", Reserve)))
	refuse := fmt.Errorf("refused")
	err := p.update(ctx, func(d *ledgerDoc) error {
		d.find("b1").State = Issued // changed, then refused: must not be stored
		return refuse
	})
	require.ErrorIs(t, err, refuse)
	require.Equal(t, Reserve, st.stored(t, p).find("b1").State)
}

func TestStopEndsALedgerWaitAtOnce(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, time.Hour)
	ctx := context.Background()
	require.NoError(t, p.update(ctx, addBatch("b1", Reserve)))
	p.gc.lock.takeover = time.Hour
	require.NoError(t, st.Lock(ctx, lockName(p.lock, st.stored(t, p).Fence, 0)))
	errs := make(chan error, 1)
	go func() { errs <- p.update(ctx, addBatch("b2", Reserve)) }()
	newLockPump(p, st).eventually(t, func() bool { return p.gc.blockedOn() != nil })
	p.gc.stop()
	require.ErrorIs(t, <-errs, ErrLedgerUnavailable)
	require.ErrorIs(t, p.update(ctx, addBatch("b3", Reserve)), ErrLedgerUnavailable)
}

func TestAbandonedUpdatesDoNotPileUpWhileTheLockIsHeld(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	p.gc.lock.takeover = time.Hour
	ctx := context.Background()
	require.NoError(t, p.update(ctx, addBatch("b1", Reserve)))
	require.NoError(t, st.Lock(ctx, lockName(p.lock, st.stored(t, p).Fence, 0)))
	for range 100 {
		short, cancel := context.WithTimeout(ctx, time.Millisecond)
		require.ErrorIs(t, p.update(short, addBatch("never", Reserve)), context.DeadlineExceeded)
		cancel()
	}
	waiting, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.update(waiting, addBatch("b2", Reserve)) }()
	newLockPump(p, st).eventually(t, func() bool {
		p.gc.mu.Lock()
		defer p.gc.mu.Unlock()
		return len(p.gc.queue) == 1
	}, "the 100 abandoned updates stayed queued")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Nil(t, st.stored(t, p).find("never"))
}
