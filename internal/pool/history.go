package pool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"
)

// History: issued and retired records never again take part in the pool's decisions; they
// answer Owns and Retire for such a batch until HistoryRetention drops them. Kept in the
// ledger itself, every commit re-encoded, checksummed, compared and stored all of them (473
// KiB after 1024 acquires), so an acquire's cost grew with the pool's past. Instead, once the
// ledger holds historyMoveAt of them (or the history holds records past retention), a commit
// moves them into a history document, stored under a key named after its own checksum
// before the ledger that names it, both under the ledger lock:
//   - A crash or failed store between the two leaves the ledger as it was: it still holds
//     the records and names the previous history; the new file is an orphan nobody reads.
//   - A writer that lost its hold can only add a file under a new name; the one the ledger
//     names never changes (a content-addressed key always holds the same bytes).
//   - The history replaced is deleted after the ledger's store, when the storage can delete.
//
// A record in both the ledger and its history (not written by this version, but harmless)
// counts once: the ledger's copy wins.
const historyMoveAt = 128

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

// historyMove is what a commit must store before the ledger: raw under key (nothing when
// raw is nil), and what it may delete after: replaced.
type historyMove struct {
	key      string
	raw      []byte
	replaced string
}

// moveHistory moves doc's gone records into a new history document when historyMoveAt of
// them are in doc or the history holds records gone before cutoff (zero: keep all), and
// points doc at it. ok is false when nothing moves.
func (p *Pool) moveHistory(doc *ledgerDoc, cutoff time.Time) (historyMove, bool, error) {
	inDoc := 0
	for _, r := range doc.Batches {
		if gone(r) {
			inDoc++
		}
	}
	old := doc.hist
	stale := old != nil && !cutoff.IsZero() && old.oldest.Before(cutoff)
	if inDoc < historyMoveAt && !stale {
		return historyMove{}, false, nil
	}
	var moved, kept []*record
	inHot := map[string]bool{}
	for _, r := range doc.Batches {
		if gone(r) {
			rc := *r // the ledger's records change in later commits; the history's never
			moved = append(moved, &rc)
			inHot[r.ID] = true
		} else {
			kept = append(kept, r)
		}
	}
	var batches []*record
	if old != nil {
		batches = make([]*record, 0, len(old.batches)+len(moved))
		for _, r := range old.batches {
			if !inHot[r.ID] && !expired(r, cutoff) {
				batches = append(batches, r)
			}
		}
	}
	batches = append(batches, moved...)
	mv := historyMove{replaced: doc.History}
	if len(batches) == 0 {
		doc.Batches, doc.History, doc.hist = kept, "", nil
		return mv, true, nil
	}
	hd := &ledgerDoc{Version: ledgerV1, Node: doc.Node, Batches: batches}
	raw, err := hd.encode()
	if err != nil {
		return historyMove{}, false, fmt.Errorf("encode pool ledger history: %w", err)
	}
	mv.key, mv.raw = historyKey(p.lock, hd.Checksum), raw
	if mv.replaced == mv.key {
		mv.replaced = "" // the same content: the same file
	}
	doc.Batches, doc.History, doc.hist = kept, mv.key, newHistory(mv.key, batches)
	return mv, true, nil
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
