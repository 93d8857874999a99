package pool

import (
	"context"
	"strings"
	"sync/atomic"
	"time"
)

// ownerRefresh bounds how often Owns re-reads the stored ledger for an id it does not know:
// the batch may have been issued by another gateway sharing the storage. An anonymous client
// sending made-up ids costs at most one ledger read per pool per ownerRefresh.
const ownerRefresh = time.Second

// ownerView is the ledger as last re-read for Owns, and when.
type ownerView struct {
	doc  atomic.Pointer[ledgerDoc]
	read atomic.Int64 // unix nanoseconds of the last read
}

// Owns reports whether the pool bought the batch id (in any state: an issued batch is the
// client's now, but it still stamps only on this pool's node). A gateway in front of several
// Bee nodes routes an upload carrying the id to the node that owns it. An id unknown to this
// process's ledger copy is looked up in the stored ledger, re-read at most once per second,
// so a batch issued by another gateway sharing the storage is found too.
func (p *Pool) Owns(ctx context.Context, id string) bool {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) != 64 {
		return false
	}
	p.mu.RLock()
	known := p.doc != nil && p.doc.findAny(id) != nil
	p.mu.RUnlock()
	if known {
		return true
	}
	view := &p.owners
	if doc := view.doc.Load(); doc != nil && doc.findAny(id) != nil {
		return true
	}
	now := p.deps.Clock.Now().UnixNano()
	last := view.read.Load()
	if now-last < int64(ownerRefresh) || !view.read.CompareAndSwap(last, now) {
		return false
	}
	raw, err := p.deps.Storage.Load(ctx, p.key)
	if err != nil {
		return false
	}
	doc, err := decodeLedger(raw, p.key)
	if err != nil || p.attachHistory(ctx, doc) != nil {
		return false // a history replaced meanwhile shows on the next read
	}
	view.doc.Store(doc)
	return doc.findAny(id) != nil
}
