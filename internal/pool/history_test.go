package pool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func historyID(i int) string { return fmt.Sprintf("%064x", 0xa000+i) }

// issueN adds n batches, issued now on the pool's clock, numbered from first.
func issueN(p *Pool, first, n int) func(*ledgerDoc) error {
	return func(d *ledgerDoc) error {
		for i := first; i < first+n; i++ {
			d.Batches = append(d.Batches, &record{ID: historyID(i), Depth: 17, State: Issued, Amount: "1", IssuedAt: p.deps.Clock.Now()})
		}
		return nil
	}
}

// poolAfterOneMove is a pool whose ledger has moved historyMoveAt issued records to one
// history segment.
func poolAfterOneMove(t *testing.T) (*memStorage, *Pool) {
	t.Helper()
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	require.NoError(t, p.update(context.Background(), issueN(p, 0, historyMoveAt)))
	p.awaitHistoryMove()
	return st, p
}

// storedHistory is the records of the history segments the stored ledger names, in order
// (nil: none).
func (m *memStorage) storedHistory(t *testing.T, doc *ledgerDoc) *ledgerDoc {
	t.Helper()
	if len(doc.History) == 0 {
		return nil
	}
	all := &ledgerDoc{}
	for _, key := range doc.History {
		raw, err := m.Load(context.Background(), key)
		require.NoError(t, err, "the ledger names a segment that is not stored")
		h, err := decodeLedger(raw, key)
		require.NoError(t, err)
		all.Batches = append(all.Batches, h.Batches...)
	}
	return all
}

// everyID counts each id in the stored ledger and its history.
func (m *memStorage) everyID(t *testing.T, p *Pool) map[string]int {
	t.Helper()
	doc := m.stored(t, p)
	seen := map[string]int{}
	for _, r := range doc.Batches {
		seen[r.ID]++
	}
	if h := m.storedHistory(t, doc); h != nil {
		for _, r := range h.Batches {
			seen[r.ID]++
		}
	}
	return seen
}

func TestGoneBatchesMoveToHistoryAndStillAnswer(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	ctx := context.Background()
	require.NoError(t, p.update(ctx, addBatch("r1", Reserve)))
	require.NoError(t, p.update(ctx, issueN(p, 0, historyMoveAt-1)))
	doc := st.stored(t, p)
	require.Empty(t, doc.History, "moved before historyMoveAt")
	require.Len(t, doc.Batches, historyMoveAt)

	require.NoError(t, p.update(ctx, issueN(p, historyMoveAt-1, 1)))
	p.awaitHistoryMove()
	doc = st.stored(t, p)
	require.Len(t, doc.Batches, 1, "only the reserve batch stays in the ledger")
	require.Equal(t, Reserve, doc.Batches[0].State)
	require.Len(t, st.storedHistory(t, doc).Batches, historyMoveAt)
	first := doc.History
	require.NoError(t, p.update(ctx, func(*ledgerDoc) error { return nil }))
	p.awaitHistoryMove()
	require.Equal(t, doc.Fence+1, st.stored(t, p).Fence, "a move with nothing due")

	// Issued batches in the history: still the pool's, retiring one changes nothing, an
	// unknown one is still unknown; the reserve is untouched and still acquirable.
	for _, q := range []*Pool{p, lockTestPool(t, st, 10*time.Second)} { // this process, and a fresh one reading storage
		require.True(t, q.Owns(ctx, historyID(3)))
		require.NoError(t, q.Retire(ctx, historyID(3), "402"))
		require.ErrorContains(t, q.Retire(ctx, historyID(999), "402"), "not in the pool")
		require.False(t, q.Owns(ctx, historyID(999)))
	}
	var got *record
	require.NoError(t, p.updateInPlace(ctx, func(d *ledgerDoc) error {
		got = pickReserve(d, 17, nil)
		got.State, got.IssuedAt = Issued, p.deps.Clock.Now()
		return nil
	}))
	require.Equal(t, "r1", got.ID)

	// The next move writes a new history with both rounds and deletes the one it replaced.
	require.NoError(t, p.update(ctx, issueN(p, historyMoveAt, historyMoveAt)))
	p.awaitHistoryMove()
	doc = st.stored(t, p)
	require.NotEqual(t, first, doc.History)
	require.Empty(t, doc.Batches)
	require.Len(t, st.storedHistory(t, doc).Batches, 2*historyMoveAt+1)
	require.ElementsMatch(t, doc.History, st.Keys(historyDir), "a replaced segment was not deleted")
	for id, n := range st.everyID(t, p) {
		require.Equal(t, 1, n, "%s stored %d times", id, n)
	}
}

// failStores fails the ledger's stores once a history was stored.
type failStores struct {
	*memStorage
	ledger  string
	history *atomic.Bool
}

func (f failStores) Store(ctx context.Context, key string, value []byte) error {
	if key == f.ledger && f.history.Load() {
		return errors.New("disk gone")
	}
	if strings.HasPrefix(key, historyDir) {
		f.history.Store(true)
	}
	return f.memStorage.Store(ctx, key, value)
}

// A crash (here: a failed store) between the history's store and the ledger's leaves the
// ledger as it was: every record once, the new history an orphan nobody names.
func TestFailedLedgerStoreAfterHistoryStoreLosesNothing(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	ctx := context.Background()
	require.NoError(t, p.update(ctx, issueN(p, 0, historyMoveAt-1)))

	q := lockTestPool(t, failStores{st, p.key, new(atomic.Bool)}, 10*time.Second)
	require.NoError(t, q.update(ctx, issueN(q, historyMoveAt-1, 1))) // due now
	q.awaitHistoryMove()
	require.Len(t, st.Keys(historyDir), 1, "the history is stored first")
	before := st.stored(t, p)
	require.Empty(t, before.History, "the ledger's store went through")
	require.Len(t, before.Batches, historyMoveAt)

	r := lockTestPool(t, st, 10*time.Second)
	require.NoError(t, r.Retire(ctx, historyID(0), "402"), "the ledger does not load") // a write: moves
	r.awaitHistoryMove()
	doc := st.stored(t, r)
	require.NotEmpty(t, doc.History)
	require.Empty(t, doc.Batches)
	ids := st.everyID(t, r)
	require.Len(t, ids, historyMoveAt)
	for id, n := range ids {
		require.Equal(t, 1, n, "%s stored %d times", id, n)
	}
}

// A record both in the ledger and in its history counts once, the ledger's copy winning,
// and the next move keeps one.
func TestRecordInLedgerAndHistoryCountsOnce(t *testing.T) {
	st, p := poolAfterOneMove(t)
	ctx := context.Background()
	// Put a history record back into the ledger, changed, as an older layout might have.
	require.NoError(t, p.update(ctx, func(d *ledgerDoc) error {
		r := *d.hist.byID[historyID(5)]
		r.State, r.RetiredAt, r.RetiredReason = Retired, p.deps.Clock.Now(), "both"
		d.Batches = append(d.Batches, &r)
		return nil
	}))
	q := lockTestPool(t, st, 10*time.Second)
	doc, err := q.loadLedger(ctx)
	require.NoError(t, err)
	require.Equal(t, "both", doc.findAny(historyID(5)).RetiredReason, "the ledger's copy wins")
	require.Equal(t, 1, doc.count(17, Retired))
	require.Equal(t, 0, doc.count(17, Issued), "history records counted as the ledger's")

	require.NoError(t, q.update(ctx, issueN(q, historyMoveAt, historyMoveAt)))
	q.awaitHistoryMove()
	ids := st.everyID(t, q)
	require.Len(t, ids, 2*historyMoveAt)
	for id, n := range ids {
		require.Equal(t, 1, n, "%s stored %d times", id, n)
	}
	h := st.storedHistory(t, st.stored(t, q))
	for _, r := range h.Batches {
		if r.ID == historyID(5) {
			require.Equal(t, "both", r.RetiredReason)
		}
	}
}

// A ledger from before the history (every issued record in it) loads as it is and moves
// them out on its next write.
func TestOldLedgerWithHistoryInsideMigrates(t *testing.T) {
	st := newMemStorage()
	ctx := context.Background()
	now := newFakeClock().Now()
	old := &ledgerDoc{Version: ledgerV1, Node: "http://bee", Fence: 41}
	old.Batches = append(old.Batches, &record{ID: "r1", Depth: 17, State: Reserve, Amount: "1", BoughtAt: now, TTLSeconds: 86400})
	for i := range 1000 {
		old.Batches = append(old.Batches, &record{ID: historyID(i), Depth: 17, State: Issued, Amount: "41472000000",
			BoughtAt: now, IssuedAt: now.Add(-time.Duration(i) * time.Minute)})
	}
	raw, err := old.encode()
	require.NoError(t, err)
	p := lockTestPool(t, st, 10*time.Second)
	require.NoError(t, st.Store(ctx, p.key, raw))

	require.True(t, p.Owns(ctx, historyID(999)))
	require.NoError(t, p.Retire(ctx, historyID(7), "402")) // the first write: migrates
	p.awaitHistoryMove()
	doc := st.stored(t, p)
	require.Equal(t, uint64(43), doc.Fence, "one write, then one for the move")
	require.Len(t, doc.Batches, 1)
	require.Len(t, st.storedHistory(t, doc).Batches, 1000)
	hot, err := st.Load(ctx, p.key)
	require.NoError(t, err)
	require.Less(t, len(hot), 2048, "the ledger kept its history")
	require.True(t, lockTestPool(t, st, 10*time.Second).Owns(ctx, historyID(999)))
}

// The history keeps HistoryRetention like the ledger did: once its oldest record is past
// it, the next write drops what is past it.
func TestHistoryIsPrunedByRetention(t *testing.T) {
	st := newMemStorage()
	p := lockTestPool(t, st, 10*time.Second)
	ctx := context.Background()
	p.mu.Lock()
	p.cfg.HistoryRetention = 10 * time.Hour
	p.mu.Unlock()
	clock := p.deps.Clock.(*fakeClock)
	require.NoError(t, p.update(ctx, issueN(p, 0, historyMoveAt)))
	p.awaitHistoryMove()
	clock.advance(5 * time.Hour)
	require.NoError(t, p.update(ctx, issueN(p, historyMoveAt, historyMoveAt)))
	p.awaitHistoryMove()
	require.Len(t, st.storedHistory(t, st.stored(t, p)).Batches, 2*historyMoveAt)

	clock.advance(5*time.Hour + historyPruneSlack + time.Minute) // the first round is past the retention and the slack, the second not
	require.NoError(t, p.update(ctx, addBatch("r1", Reserve)))
	p.awaitHistoryMove()
	doc := st.stored(t, p)
	h := st.storedHistory(t, doc)
	require.Len(t, h.Batches, historyMoveAt)
	require.Equal(t, historyID(historyMoveAt), h.Batches[0].ID)
	require.ErrorContains(t, p.Retire(ctx, historyID(0), "402"), "not in the pool")
	require.NoError(t, p.Retire(ctx, historyID(historyMoveAt), "402"))

	clock.advance(5*time.Hour + historyPruneSlack) // everything past: no history left
	require.NoError(t, p.update(ctx, addBatch("r2", Reserve)))
	p.awaitHistoryMove()
	doc = st.stored(t, p)
	require.Empty(t, doc.History)
	require.Empty(t, st.Keys(historyDir))
	require.Len(t, doc.Batches, 2)
}

// The history is part of the ledger: one named but missing stops spending like a damaged
// ledger does.
func TestMissingHistoryMakesTheLedgerUnreadable(t *testing.T) {
	st, p := poolAfterOneMove(t)
	ctx := context.Background()
	doc := st.stored(t, p)
	require.NoError(t, st.Delete(ctx, doc.History[0]))
	q := lockTestPool(t, st, 10*time.Second)
	err := q.update(ctx, addBatch("r1", Reserve))
	require.ErrorIs(t, err, ErrLedgerUnavailable)
	require.ErrorContains(t, err, "missing")
	require.ErrorIs(t, q.spendingBlocked(), ErrLedgerCorrupt)
}

// staleLedgerOnce serves an older ledger to the second Load of key (the read under the
// lock, after the fence peek), as a storage whose reads lag behind another instance's
// write (an eventually consistent one) may.
type staleLedgerOnce struct {
	*memStorage
	key   string
	stale []byte
	loads atomic.Int32
}

func (s *staleLedgerOnce) Load(ctx context.Context, key string) ([]byte, error) {
	if key == s.key && s.loads.Add(1) == 2 {
		return s.stale, nil
	}
	return s.memStorage.Load(ctx, key)
}

// A segment merged and deleted by another instance after this one read the ledger that
// named it is not a lost segment: the newer ledger is read again and names its successor.
// (Without the re-read, the pool stopped spending as if the ledger were corrupt.)
func TestSegmentMergedAwayAfterTheLedgerWasReadIsNoCorruption(t *testing.T) {
	st, p := poolAfterOneMove(t)
	ctx := context.Background()
	old, err := st.Load(ctx, p.key)
	require.NoError(t, err)
	first := st.stored(t, p).History
	require.Len(t, first, 1)
	require.NoError(t, p.update(ctx, issueN(p, historyMoveAt, historyMoveAt)))
	p.awaitHistoryMove()
	_, err = st.Load(ctx, first[0])
	require.ErrorIs(t, err, fs.ErrNotExist, "the second move merged the first segment and deleted it")

	q := lockTestPool(t, &staleLedgerOnce{memStorage: st, key: p.key, stale: old}, 10*time.Second)
	require.NoError(t, q.update(ctx, addBatch("r1", Reserve)))
	require.NotErrorIs(t, q.spendingBlocked(), ErrLedgerCorrupt)
	require.Len(t, st.everyID(t, q), 2*historyMoveAt+1, "every record once, the new one too")
}

// countHistoryWrites counts the records written into history segments.
type countHistoryWrites struct {
	*memStorage
	records *atomic.Int64
}

func (c countHistoryWrites) Store(ctx context.Context, key string, value []byte) error {
	if strings.HasPrefix(key, historyDir) {
		d, err := decodeLedger(value, key)
		if err != nil {
			return err
		}
		c.records.Add(int64(len(d.Batches)))
	}
	return c.memStorage.Store(ctx, key, value)
}

// Segments merge like a binary counter: after 32 moves the ledger names at most 6 segments,
// each record was written at most 6 times (not once per move), and only named ones remain.
func TestHistorySegmentsStayFewAndWritesStayBounded(t *testing.T) {
	st := newMemStorage()
	written := new(atomic.Int64)
	p := lockTestPool(t, countHistoryWrites{st, written}, 10*time.Second)
	ctx := context.Background()
	const moves = 32
	for i := range moves {
		require.NoError(t, p.update(ctx, issueN(p, i*historyMoveAt, historyMoveAt)))
		p.awaitHistoryMove()
		doc := st.stored(t, p)
		require.Empty(t, doc.Batches)
		require.LessOrEqual(t, len(doc.History), 6, "after move %d: %v", i, doc.History)
		require.ElementsMatch(t, doc.History, st.Keys(historyDir), "after move %d", i)
	}
	require.LessOrEqual(t, written.Load(), int64(6*moves*historyMoveAt))
	ids := st.everyID(t, p)
	require.Len(t, ids, moves*historyMoveAt)
	for id, n := range ids {
		require.Equal(t, 1, n, "%s stored %d times", id, n)
	}
	require.True(t, lockTestPool(t, st, 10*time.Second).Owns(ctx, historyID(0)))
}
