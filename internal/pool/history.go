package pool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// History: issued and retired records never again take part in the pool's decisions; they
// answer Owns and Retire for such a batch until HistoryRetention drops them. Kept in the
// ledger itself, every commit re-encoded, checksummed, compared and stored all of them (473
// KiB after 1024 acquires), so an acquire's cost grew with the pool's past. Instead, once the
// ledger holds historyMoveAt of them (or the history holds records past retention), a
// background move writes a history document with them, under a key named after its own
// checksum and without the ledger lock (nothing reads it until a ledger names it), then one
// ordinary ledger update drops them from the ledger and names it. No acquire waits for the
// history's write, and the ledger's lock, fence and compare-and-write rules are untouched:
//   - A crash or failed write between the two leaves the ledger as it was: it still holds
//     the records and names the previous history; the new file is an orphan nobody reads.
//   - A key is never written with other bytes, so no writer (another instance, one that lost
//     its hold) can change the history a ledger names; two moves at once: the first wins.
//   - The history replaced is deleted after the ledger's store, when the storage can delete.
//
// A record in both the ledger and its history (changed after the snapshot a move took)
// counts once: the ledger's copy wins, and the next move replaces the history's.
const historyMoveAt = 64

// historyDir is outside caddy-bee/pool/*.json, where tools look for ledger files.
const historyDir = "caddy-bee/pool-history/"

// history is a history document as loaded: read-only, shared by every copy of the ledger.
type history struct {
	key     string
	batches []*record
	byID    map[string]*record
	oldest  time.Time // the earliest time a record in it left service
}

// historyCache is the history last loaded or written, so a ledger naming it again (the
// common case: it changes once per historyMoveAt departures) does not read it again.
type historyCache struct {
	mu   sync.Mutex
	last *history
}

func (c *historyCache) get(key string) *history {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && c.last.key == key {
		return c.last
	}
	return nil
}

func (c *historyCache) put(h *history) {
	if h == nil {
		return
	}
	c.mu.Lock()
	c.last = h
	c.mu.Unlock()
}

func newHistory(key string, batches []*record) *history {
	h := &history{key: key, batches: batches, byID: make(map[string]*record, len(batches))}
	for _, r := range batches {
		h.byID[r.ID] = r
		if at := leftServiceAt(r); h.oldest.IsZero() || at.Before(h.oldest) {
			h.oldest = at
		}
	}
	return h
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
	stale := doc.hist != nil && !cutoff.IsZero() && doc.hist.oldest.Before(cutoff)
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

// awaitHistoryMove waits for the history move under way, if any.
func (p *Pool) awaitHistoryMove() {
	p.mover.mu.Lock()
	done := p.mover.done
	p.mover.mu.Unlock()
	if done != nil {
		<-done
	}
}

// moveHistory writes a history holding snap's history and its gone records (less those gone
// before cutoff) without any lock: nothing reads it until a ledger names it. Then one ledger
// update drops from the ledger the records the new history holds as they are, and names it,
// if the ledger still names the history snap did (else another move came first). The
// history replaced is deleted after that write.
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
	if snap.hist != nil {
		old := make([]*record, 0, len(snap.hist.batches)+len(batches))
		for _, r := range snap.hist.batches {
			if _, again := moved[r.ID]; !again && !expired(r, cutoff) {
				old = append(old, r)
			}
		}
		batches = append(old, batches...)
	}
	var key string
	var h *history
	if len(batches) > 0 {
		hd := &ledgerDoc{Version: ledgerV1, Node: snap.Node, Batches: batches}
		raw, err := hd.encode()
		if err != nil {
			return fmt.Errorf("encode pool ledger history: %w", err)
		}
		key = historyKey(p.lock, hd.Checksum)
		if err := p.deps.Storage.Store(ctx, key, raw); err != nil {
			return fmt.Errorf("store %s: %w", key, err)
		}
		h = newHistory(key, batches)
	}
	err := p.update(ctx, func(doc *ledgerDoc) error {
		if doc.History != snap.History {
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
		doc.Batches, doc.History, doc.hist = kept, key, h
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil // another move came first; this file may be its history too, so it stays
	}
	if err != nil {
		return err
	}
	p.hist.put(h)
	if snap.History != key {
		p.deleteHistory(context.WithoutCancel(ctx), snap.History)
	}
	return nil
}

// attachHistory loads the history doc names (from the cache when it is the last one) and
// attaches it. A history named but missing or damaged makes the ledger unreadable: it is
// part of it.
func (p *Pool) attachHistory(ctx context.Context, doc *ledgerDoc) error {
	if doc.History == "" {
		doc.hist = nil
		return nil
	}
	if h := p.hist.get(doc.History); h != nil {
		doc.hist = h
		return nil
	}
	raw, err := p.deps.Storage.Load(ctx, doc.History)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s names the history %s, which is missing; restore it (or move the ledger away: the pool then starts empty and will NOT know the batches it paid for)", ErrLedgerCorrupt, p.key, doc.History)
	}
	if err != nil {
		return fmt.Errorf("load pool ledger history %s: %w", doc.History, err)
	}
	hd, err := decodeLedger(raw, doc.History)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(hd.Checksum, strings.TrimSuffix(doc.History[strings.LastIndexByte(doc.History, '-')+1:], ".json")) {
		return fmt.Errorf("%w: %s: content does not match its name (replaced by hand?); restore it", ErrLedgerCorrupt, doc.History)
	}
	h := newHistory(doc.History, hd.Batches)
	p.hist.put(h)
	doc.hist = h
	return nil
}

// deleteHistory removes a history no ledger names any more, when the storage can delete
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
