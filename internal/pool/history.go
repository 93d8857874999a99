package pool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// History: issued and retired records never again take part in the pool's decisions; they
// answer Owns and Retire for such a batch until HistoryRetention drops them. Kept in the
// ledger itself, every commit re-encoded, checksummed, compared and stored all of them (473
// KiB after 1024 acquires), so an acquire's cost grew with the pool's past. Instead, once the
// ledger holds historyMoveAt of them, a background move writes them into a new history
// segment, under a key named after its own checksum and without the ledger lock (nothing
// reads it until a ledger names it), then one ordinary ledger update drops them from the
// ledger and names the segment. No acquire waits for a segment's write, and the ledger's
// lock, fence and compare-and-write rules are untouched:
//   - A crash or failed write between the two leaves the ledger as it was: it still holds
//     the records and names the previous segments; the new file is an orphan nobody reads.
//   - A key is never written with other bytes, so no writer (another instance, one that lost
//     its hold) can change a segment a ledger names; two moves at once: the first wins.
//   - Segments are merged like a binary counter (a segment no larger than the one after it
//     joins it), so a ledger names O(log n) of them and a record is rewritten O(log n) times;
//     a move writes one segment of historyMoveAt records, and rarely a larger merge.
//   - Segments no ledger names any more are deleted after its store, when the storage can.
//   - Retention: a segment holding records past HistoryRetention (by historyPruneSlack, so
//     that a large segment is not rewritten at every departure) is rewritten without them.
//
// A record in both the ledger and a segment, or in two segments (changed after the snapshot a
// move took), counts once: the ledger's copy wins, then the later segment's.
const historyMoveAt = 64

// errSegmentMissing: a ledger names a segment the storage lacks. Another instance may have
// merged it and deleted it after this one read that ledger: loadLedger reads the ledger again.
var errSegmentMissing = errors.New("history segment missing")

// historyPruneSlack: how long past HistoryRetention a record may stay in a segment.
const historyPruneSlack = time.Hour

// historyDir is outside caddy-bee/pool/*.json, where tools look for ledger files.
const historyDir = "caddy-bee/pool-history/"

// segment is one history document: read-only once built. key is empty until it is encoded.
type segment struct {
	key     string
	batches []*record
	oldest  time.Time // the earliest time a record in it left service
}

func newSegment(batches []*record) *segment {
	s := &segment{batches: batches}
	for _, r := range batches {
		if at := leftServiceAt(r); !at.IsZero() && (s.oldest.IsZero() || at.Before(s.oldest)) {
			s.oldest = at // a record without the time never expires (see expired)
		}
	}
	return s
}

// mergeSegments: a's records but those in b, then b's.
func mergeSegments(a, b *segment) *segment {
	inB := make(map[string]bool, len(b.batches))
	for _, r := range b.batches {
		inB[r.ID] = true
	}
	out := make([]*record, 0, len(a.batches)+len(b.batches))
	for _, r := range a.batches {
		if !inB[r.ID] {
			out = append(out, r)
		}
	}
	return newSegment(append(out, b.batches...))
}

// history is the segments a ledger names, as loaded: shared by every copy of the ledger.
type history struct {
	segs   []*segment
	byID   map[string]*record
	oldest time.Time
}

func newHistory(segs []*segment) *history {
	if len(segs) == 0 {
		return nil
	}
	n := 0
	for _, s := range segs {
		n += len(s.batches)
	}
	h := &history{segs: segs, byID: make(map[string]*record, n)}
	for _, s := range segs {
		for _, r := range s.batches {
			h.byID[r.ID] = r // a later segment's copy wins
		}
		if !s.oldest.IsZero() && (h.oldest.IsZero() || s.oldest.Before(h.oldest)) {
			h.oldest = s.oldest
		}
	}
	return h
}

func (h *history) keys() []string {
	if h == nil {
		return nil
	}
	keys := make([]string, len(h.segs))
	for i, s := range h.segs {
		keys[i] = s.key
	}
	return keys
}

// historyCache holds the segments of the history last loaded or written, so a ledger naming
// them again does not read them again.
type historyCache struct {
	mu   sync.Mutex
	last *history
	segs map[string]*segment
}

// lookup returns the history of keys when every segment is cached.
func (c *historyCache) lookup(keys []string) *history {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && slices.Equal(c.last.keys(), keys) {
		return c.last
	}
	segs := make([]*segment, 0, len(keys))
	for _, k := range keys {
		s := c.segs[k]
		if s == nil {
			return nil
		}
		segs = append(segs, s)
	}
	return newHistory(segs)
}

func (c *historyCache) segment(key string) *segment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.segs[key]
}

// put makes h the cached history; segments it does not name leave the cache.
func (c *historyCache) put(h *history) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = h
	c.segs = map[string]*segment{}
	if h != nil {
		for _, s := range h.segs {
			c.segs[s.key] = s
		}
	}
}

// gone: issued or retired, out of the pool's service for good.
func gone(r *record) bool { return r.State == Issued || r.State == Retired }

func leftServiceAt(r *record) time.Time {
	if r.State == Issued {
		return r.IssuedAt
	}
	return r.RetiredAt
}

// expired: gone before cutoff (the rule pruneHistory applies to the ledger).
func expired(r *record, cutoff time.Time) bool {
	at := leftServiceAt(r)
	return gone(r) && !at.IsZero() && at.Before(cutoff)
}

// findAny is find that also looks in the history: for questions about any batch the pool
// ever bought (Owns, Retire, adopting a purchase), never for picking one to use.
func (d *ledgerDoc) findAny(id string) *record {
	if r := d.find(id); r != nil {
		return r
	}
	if d.hist != nil {
		return d.hist.byID[id]
	}
	return nil
}

func historyKey(lockBase, checksum string) string {
	return historyDir + strings.TrimPrefix(lockBase, "caddy-bee/pool/") + "-" + checksum[:16] + ".json"
}

// historyMover runs one history move at a time per pool, in the background.
type historyMover struct {
	mu   sync.Mutex
	done chan struct{} // open while a move runs
}

// historyCutoff: records gone before it leave the ledger and the history (zero: none do).
func (p *Pool) historyCutoff() time.Time {
	if keep := p.config().HistoryRetention; keep > 0 {
		return p.deps.Clock.Now().Add(-keep)
	}
	return time.Time{}
}

// moveHistoryIfDue starts a history move when historyMoveAt gone records are in doc (the
// ledger as just stored) or its history holds records past retention. Called by a committer
// (so Stop waits for the move too), under updateMu.
func (p *Pool) moveHistoryIfDue(doc *ledgerDoc) {
	inDoc := 0
	for _, r := range doc.Batches {
		if gone(r) {
			inDoc++
		}
	}
	cutoff := p.historyCutoff()
	stale := doc.hist != nil && prunable(doc.hist.oldest, cutoff)
	if inDoc < historyMoveAt && !stale {
		return
	}
	m := &p.mover
	m.mu.Lock()
	if m.done != nil {
		m.mu.Unlock()
		return
	}
	done := make(chan struct{})
	m.done = done
	m.mu.Unlock()
	snap := doc.deepCopy()
	p.gc.committers.Add(1) // nonzero now: this runs in a committer
	go func() {
		defer p.gc.committers.Done()
		defer func() {
			m.mu.Lock()
			m.done = nil
			m.mu.Unlock()
			close(done)
		}()
		if err := p.moveHistory(p.gc.ctx, snap, cutoff); err != nil && p.gc.ctx.Err() == nil {
			p.deps.Logger.Warn("pool ledger history not moved (tried again at a later write)", zap.Error(err))
		}
	}()
}

// prunable: records that left service at oldest are past the retention (cutoff) by the slack.
func prunable(oldest, cutoff time.Time) bool {
	return !oldest.IsZero() && !cutoff.IsZero() && oldest.Before(cutoff.Add(-historyPruneSlack))
}

// awaitHistoryMove waits for the history move under way, if any.
func (p *Pool) awaitHistoryMove() {
	p.mover.mu.Lock()
	done := p.mover.done
	p.mover.mu.Unlock()
	if done != nil {
		<-done
	}
}

// moveHistory writes snap's gone records (less those gone before cutoff) as a new segment,
// merges and prunes segments, all without any lock: nothing reads them until a ledger names
// them. Then one ledger update drops from the ledger the records the segments hold as they
// are, and names the segments, if the ledger still names the ones snap did (else another
// move came first). Segments it no longer names are deleted after that write.
func (p *Pool) moveHistory(ctx context.Context, snap *ledgerDoc, cutoff time.Time) error {
	moved := map[string][]byte{} // id -> the record's encoding, to drop only what is unchanged
	var batches []*record
	for _, r := range snap.Batches {
		if gone(r) && !expired(r, cutoff) {
			enc, err := appendRecord(nil, r)
			if err != nil {
				return fmt.Errorf("encode batch %s: %w", r.ID, err)
			}
			moved[r.ID] = enc
			batches = append(batches, r)
		}
	}
	var segs []*segment
	if snap.hist != nil {
		for _, s := range snap.hist.segs {
			if !prunable(s.oldest, cutoff) {
				segs = append(segs, s)
				continue
			}
			var kept []*record
			for _, r := range s.batches {
				if !expired(r, cutoff) {
					kept = append(kept, r)
				}
			}
			if len(kept) > 0 {
				segs = append(segs, newSegment(kept))
			}
		}
	}
	if len(batches) > 0 {
		segs = append(segs, newSegment(batches))
		for n := len(segs); n >= 2 && len(segs[n-2].batches) <= len(segs[n-1].batches); n = len(segs) {
			segs = append(segs[:n-2], mergeSegments(segs[n-2], segs[n-1]))
		}
	}
	for _, s := range segs {
		if s.key != "" {
			continue // stored already
		}
		raw, err := (&ledgerDoc{Version: ledgerV1, Node: snap.Node, Batches: s.batches}).encode()
		if err != nil {
			return fmt.Errorf("encode pool ledger history: %w", err)
		}
		sum := sha256.Sum256(raw)
		s.key = historyKey(p.lock, hex.EncodeToString(sum[:]))
		if err := p.deps.Storage.Store(ctx, s.key, raw); err != nil {
			return fmt.Errorf("store %s: %w", s.key, err)
		}
	}
	h := newHistory(segs)
	keys := h.keys()
	err := p.update(ctx, func(doc *ledgerDoc) error {
		if !slices.Equal(doc.History, snap.History) {
			return errNoChange
		}
		kept := doc.Batches[:0]
		for _, r := range doc.Batches {
			if enc, ok := moved[r.ID]; ok {
				if now, err := appendRecord(nil, r); err == nil && string(now) == string(enc) {
					continue
				}
			}
			kept = append(kept, r)
		}
		doc.Batches, doc.History, doc.hist = kept, keys, h
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil // another move came first; these files may be its segments too, so they stay
	}
	if err != nil {
		return err
	}
	p.hist.put(h)
	for _, k := range snap.History {
		if !slices.Contains(keys, k) {
			p.deleteHistory(context.WithoutCancel(ctx), k)
		}
	}
	return nil
}

// attachHistory loads the segments doc names (from the cache where it has them) and
// attaches them. A segment named but missing or damaged makes the ledger unreadable: it is
// part of it.
func (p *Pool) attachHistory(ctx context.Context, doc *ledgerDoc) error {
	if len(doc.History) == 0 {
		doc.hist = nil
		return nil
	}
	if h := p.hist.lookup(doc.History); h != nil {
		doc.hist = h
		return nil
	}
	segs := make([]*segment, 0, len(doc.History))
	for _, key := range doc.History {
		if s := p.hist.segment(key); s != nil {
			segs = append(segs, s)
			continue
		}
		raw, err := p.deps.Storage.Load(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w: %s names the history segment %s, which is missing; restore it (or move the ledger away: the pool then starts empty and will NOT know the batches it paid for)", ErrLedgerCorrupt, errSegmentMissing, p.key, key)
		}
		if err != nil {
			return fmt.Errorf("load pool ledger history %s: %w", key, err)
		}
		hd, err := decodeLedger(raw, key)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		if key != historyKey(p.lock, hex.EncodeToString(sum[:])) {
			return fmt.Errorf("%w: %s: content does not match its name (replaced by hand?); restore it", ErrLedgerCorrupt, key)
		}
		s := newSegment(hd.Batches)
		s.key = key
		segs = append(segs, s)
	}
	h := newHistory(segs)
	p.hist.put(h)
	doc.hist = h
	return nil
}

// deleteHistory removes a segment no ledger names any more, when the storage can delete
// (Caddy's storages can). A failure leaves an orphan file, nothing worse.
func (p *Pool) deleteHistory(ctx context.Context, key string) {
	d, ok := p.deps.Storage.(interface {
		Delete(ctx context.Context, key string) error
	})
	if key == "" || !ok {
		return
	}
	_ = d.Delete(ctx, key)
}
