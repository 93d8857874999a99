package pool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"go.uber.org/zap"
)

// The ledger lock: how instances sharing one storage take turns writing the ledger, and how
// the living go on when one dies holding it. Built on nothing but the Storage interface
// (Lock, Unlock, Load, Store), so it holds on any Caddy storage module.
//
//   - Fence. The ledger carries a fence, a counter every write raises by one. A writer reads
//     fence F (without a lock), takes the storage lock named after F and a generation g
//     ("<base>-f<F>-g<g>"), reads the ledger again and goes on only if the fence is still F.
//     Before it stores F+1 it reads the ledger once more and compares it byte for byte with
//     what it read under the lock, and checks it has held the lock for less than holdMax;
//     otherwise it stores nothing. So every stored fence value has exactly one writer, and a
//     writer that lost its hold (paused, its lock broken as stale) never overwrites newer
//     state. A hold that finds its fence current writes even when nothing else changed, so
//     a waiter that sees the fence unchanged knows no hold completed meanwhile.
//   - Lock names change with every write. Caddy's file storage refreshes a held lock file
//     from a goroutine that is not owner-aware and outlives Unlock by up to 5 s; with one lock
//     name for every write, the survivor's leftover refreshers kept a dead peer's lock fresh
//     forever (issue 22). A name used once is never wanted again after its write, so a
//     leftover refresher finds its file gone and ends, and a dead holder's lock goes stale.
//   - Bounded waits. One Lock call waits at most probe (50 ms); then the ledger is read
//     again: a new fence means another instance wrote (go after the new name), an unchanged
//     one that the lock is still held. A storage module that breaks stale locks (the file
//     storage after 10 s) lets the survivor in that way.
//   - Takeover. If the fence has not changed for takeover (20 s) while its lock stayed held
//     (a storage whose locks never expire, a lock file some leftover goroutine keeps fresh),
//     the waiter moves on to the next generation's name: a live holder would have stored
//     within holdMax or not at all, so that hold is over. After the write the older
//     generations' names are unlocked, so their files and leftover refreshers go away.
//
// The one assumption, as with every lease: a Load and a Store each complete well within
// holdMax (4 s) when they complete at all, and a storage that keeps failing writes under the
// lock for takeover (20 s) is not also racing a taker. Instances must all run a version with this lock
// (older ones locked "<base>" without fence).
type ledgerLock struct {
	probe     time.Duration // one Lock call's longest wait
	busyAfter time.Duration // a lock held elsewhere this long shows in the status
	holdMax   time.Duration // a hold longer than this stores nothing
	takeover  time.Duration // no fence change for this long: next generation
}

var defaultLedgerLock = ledgerLock{probe: 50 * time.Millisecond, busyAfter: time.Second, holdMax: 4 * time.Second, takeover: 20 * time.Second}

// heldLock is one hold of the ledger lock.
type heldLock struct {
	name  string
	fence uint64
	gen   int
	since time.Time
}

func lockName(base string, fence uint64, gen int) string {
	return fmt.Sprintf("%s-f%d-g%d", base, fence, gen)
}

var errNobodyWaiting = errors.New("no ledger update waits any longer")

// lockLedger takes the ledger lock for the current fence. It gives up when ctx ends, the
// storage fails, or wanted reports that nobody waits for the write any longer.
func (p *Pool) lockLedger(ctx context.Context, wanted func() bool) (heldLock, error) {
	l := p.gc.lock
	fence, err := p.peekFence(ctx)
	if err != nil {
		return heldLock{}, err
	}
	gen, since := 0, p.deps.Clock.Now()
	if b := p.gc.blockedOn(); b != nil && b.fence == fence {
		gen, since = b.gen, b.since // the same holder still: its time counts on
	}
	for {
		name := lockName(p.lock, fence, gen)
		lctx, cancel := p.withTimeout(ctx, l.probe)
		err := p.deps.Storage.Lock(lctx, name)
		probeOver := lctx.Err() != nil
		cancel()
		if err == nil {
			p.gc.setBlocked(nil)
			return heldLock{name: name, fence: fence, gen: gen, since: p.deps.Clock.Now()}, nil
		}
		if ctx.Err() != nil {
			return heldLock{}, fmt.Errorf("%w: pool stopping", ErrLedgerUnavailable)
		}
		if !probeOver {
			return heldLock{}, fmt.Errorf("%w: lock %s: %v", ErrLedgerUnavailable, name, err)
		}
		p.gc.setBlocked(&blockedLock{name: name, fence: fence, gen: gen, since: since, seen: p.deps.Clock.Now()})
		if !wanted() {
			return heldLock{}, errNobodyWaiting
		}
		now, err := p.peekFence(ctx)
		if err != nil {
			return heldLock{}, err
		}
		if now != fence {
			fence, gen, since = now, 0, p.deps.Clock.Now()
			continue
		}
		if waited := p.since(since); waited >= l.takeover {
			next := lockName(p.lock, fence, gen+1)
			p.deps.Logger.Warn("pool ledger lock held with no write for too long (its holder is likely dead): taking over with the next lock name",
				zap.String("lock", name), zap.Duration("waited", waited), zap.String("next", next))
			gen, since = gen+1, p.deps.Clock.Now()
		}
	}
}

// unlockLedger releases a hold; after a takeover also the locks of older generations, which
// nobody needs any more (their fence is past).
func (p *Pool) unlockLedger(ctx context.Context, h heldLock, wrote bool) {
	if err := p.deps.Storage.Unlock(ctx, h.name); err != nil {
		p.deps.Logger.Error("unlock pool ledger", zap.String("lock", h.name), zap.Error(err))
	}
	if wrote {
		for g := range h.gen {
			_ = p.deps.Storage.Unlock(ctx, lockName(p.lock, h.fence, g)) // a dead holder's; may be gone already
		}
	}
}

// peekFence reads the ledger's fence without the lock. Bytes equal to the last ones read or
// written are not decoded again.
func (p *Pool) peekFence(ctx context.Context) (uint64, error) {
	raw, err := p.deps.Storage.Load(ctx, p.key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, p.ledgerUnreadable(fmt.Errorf("load pool ledger %s: %w", p.key, err))
	}
	if p.lastDoc != nil && p.lastRaw != nil && string(raw) == string(p.lastRaw) {
		return p.lastDoc.Fence, nil
	}
	doc, err := decodeLedger(raw, p.key)
	if err != nil {
		p.lastRaw, p.lastDoc = nil, nil
		return 0, p.ledgerUnreadable(err)
	}
	if len(doc.History) > 0 {
		// Read without the lock, a segment may be replaced and deleted meanwhile: only a
		// cached history is attached here; otherwise loadLedger reads it under the lock.
		if doc.hist = p.hist.lookup(doc.History); doc.hist == nil {
			return doc.Fence, nil
		}
	}
	p.lastRaw, p.lastDoc = raw, doc
	return doc.Fence, nil
}

// ledgerUnreadable stops spending (logged once) and returns the error for callers.
func (p *Pool) ledgerUnreadable(err error) error {
	p.mu.Lock()
	first := p.ledgerErr == nil
	p.ledgerErr = err
	p.mu.Unlock()
	if first {
		p.deps.Logger.Error("pool ledger unreadable: all spending stopped", zap.Error(err))
	}
	return fmt.Errorf("%w: %v", ErrLedgerUnavailable, err)
}
