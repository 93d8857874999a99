package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"
)

// ErrLedgerBusy: the ledger could not be written within the wait bound (the storage lock is
// held by another instance, or by a dead one until it is taken over). Retry shortly.
var ErrLedgerBusy = fmt.Errorf("%w: busy, the storage lock is held elsewhere; retry in a few seconds", ErrLedgerUnavailable)

// Group commit: every ledger update is queued, and one committer goroutine per pool (alive
// only while updates wait) takes the ledger lock, applies everything queued by then in one
// read-modify-write, stores once and answers each caller after that store. Lock round trips
// are then bounded by the store's speed, not by the request rate, and a caller's wait is
// bounded by the pool's LedgerWait: it gets ErrLedgerBusy, and its update is dropped unless
// the committer has already taken it.
type groupCommit struct {
	ctx    context.Context // the pool's lifetime; never a request's
	cancel context.CancelFunc
	lock   ledgerLock
	clock  Clock

	mu      sync.Mutex
	queue   []*ledgerOp
	running bool
	// committers lets Stop wait for a commit in flight: nothing writes the ledger after it.
	committers sync.WaitGroup
	// blocked is the ledger lock the committer found held, kept across commit rounds so that
	// a takeover comes due even when callers come and go; nil once a lock is taken.
	blocked *blockedLock
}

// blockedLock: the lock of fence and generation gen has been held elsewhere since since, and
// was last found held at seen.
type blockedLock struct {
	name  string
	fence uint64
	gen   int
	since time.Time
	seen  time.Time
}

// Op states: a waiting op may be abandoned by its caller or taken by the committer, once.
const (
	opWaiting int32 = iota
	opTaken
	opAbandoned
)

type ledgerOp struct {
	fn func(*ledgerDoc) error
	// inPlace: fn changes nothing when it returns an error, so it runs on the commit's
	// document itself instead of a copy (updateInPlace).
	inPlace bool
	state   atomic.Int32
	err     error
	done    chan struct{}
}

func newGroupCommit(clock Clock) *groupCommit {
	ctx, cancel := context.WithCancel(context.Background())
	return &groupCommit{ctx: ctx, cancel: cancel, lock: defaultLedgerLock, clock: clock}
}

// stop ends lock waits at once; queued and later updates fail with ErrLedgerUnavailable.
// Under mu: no committer starts after it.
func (g *groupCommit) stop() {
	g.mu.Lock()
	g.cancel()
	g.mu.Unlock()
}

func (g *groupCommit) setBlocked(b *blockedLock) {
	g.mu.Lock()
	g.blocked = b
	g.mu.Unlock()
}

func (g *groupCommit) blockedOn() *blockedLock {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.blocked
}

// busyError describes a ledger lock found held elsewhere for a while, for the status.
func (g *groupCommit) busyError() string {
	b := g.blockedOn()
	now := g.clock.Now()
	if b == nil || now.Sub(b.seen) > g.lock.takeover {
		return "" // nothing tried to write for a while: what was held then may be free now
	}
	held := now.Sub(b.since)
	if held < g.lock.busyAfter {
		return ""
	}
	return fmt.Sprintf("pool ledger busy: storage lock %s held elsewhere for %s (another instance; a dead holder's lock is taken over after %s); ledger writes answer 503 meanwhile",
		b.name, held.Round(time.Second), g.lock.takeover)
}

// update runs fn on the current ledger under the ledger lock, together with the other updates
// queued meanwhile, and returns once the result is stored. fn may return an error to change
// nothing. ctx only bounds the wait: the write itself belongs to the pool. One commit is in
// flight per pool, so lock round trips per second are at most 1/(lock + load + store time)
// whatever the request rate; a busier pool puts more updates in each write.
func (p *Pool) update(ctx context.Context, fn func(*ledgerDoc) error) error {
	return p.enqueue(ctx, &ledgerOp{fn: fn, done: make(chan struct{})})
}

// updateInPlace is update for an fn that changes nothing when it returns an error (it decides
// first, then changes): the commit then applies it without copying the ledger first. With
// thousands of records kept for HistoryRetention, a copy per queued acquire was most of a
// commit's CPU.
func (p *Pool) updateInPlace(ctx context.Context, fn func(*ledgerDoc) error) error {
	return p.enqueue(ctx, &ledgerOp{fn: fn, inPlace: true, done: make(chan struct{})})
}

func (p *Pool) enqueue(ctx context.Context, op *ledgerOp) error {
	g := p.gc
	g.mu.Lock()
	if g.ctx.Err() != nil {
		g.mu.Unlock()
		return fmt.Errorf("%w: pool stopped", ErrLedgerUnavailable)
	}
	g.queue = append(g.queue, op)
	if !g.running {
		g.running = true
		g.committers.Add(1)
		go func() {
			defer g.committers.Done()
			p.commitLoop()
		}()
	}
	g.mu.Unlock()

	wait := p.config().LedgerWait
	if wait <= 0 {
		wait = DefaultConfig().LedgerWait
	}
	timer := p.deps.Clock.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-op.done:
		return op.err
	case <-timer.C():
	case <-ctx.Done():
	case <-g.ctx.Done():
	}
	if op.state.CompareAndSwap(opWaiting, opAbandoned) {
		if g.ctx.Err() != nil {
			return fmt.Errorf("%w: pool stopped", ErrLedgerUnavailable)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrLedgerBusy
	}
	// Taken: it is being written now. The hold is bounded before the store; a storage whose
	// store hangs must not hang the caller too (the outcome is then unknown).
	stuck := p.deps.Clock.NewTimer(g.lock.holdMax)
	defer stuck.Stop()
	select {
	case <-op.done:
		return op.err
	case <-stuck.C():
		return fmt.Errorf("%w: the storage has not confirmed the write for %s; its outcome is unknown", ErrLedgerBusy, wait+g.lock.holdMax)
	}
}

// commitLoop commits until no update waits.
func (p *Pool) commitLoop() {
	g := p.gc
	for {
		g.mu.Lock()
		if !g.waitingLocked() {
			g.queue, g.running = nil, false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		p.commitOnce()
	}
}

func (g *groupCommit) waitingLocked() bool {
	for _, op := range g.queue {
		if op.state.Load() == opWaiting {
			return true
		}
	}
	return false
}

// wanted reports whether an update still waits, and drops the abandoned ones meanwhile so
// the queue stays as long as the callers waiting now, however long the lock is held.
func (g *groupCommit) wanted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	kept := g.queue[:0]
	for _, op := range g.queue {
		if op.state.Load() != opAbandoned {
			kept = append(kept, op)
		}
	}
	clear(g.queue[len(kept):])
	g.queue = kept
	return len(kept) > 0
}

// take removes the queue and marks its waiting ops as taken.
func (g *groupCommit) take() []*ledgerOp {
	g.mu.Lock()
	q := g.queue
	g.queue = nil
	g.mu.Unlock()
	taken := q[:0]
	for _, op := range q {
		if op.state.CompareAndSwap(opWaiting, opTaken) {
			taken = append(taken, op)
		}
	}
	return taken
}

func answer(ops []*ledgerOp, err error) {
	for _, op := range ops {
		if err != nil && op.err == nil {
			op.err = err
		}
		close(op.done)
	}
}

// commitOnce takes the ledger lock and applies every waiting update in one write.
func (p *Pool) commitOnce() {
	g := p.gc
	p.updateMu.Lock()
	defer p.updateMu.Unlock()
	ctx := g.ctx
	held, err := p.lockLedger(ctx, g.wanted)
	if err == errNobodyWaiting {
		return
	}
	if err != nil {
		answer(g.take(), err)
		return
	}
	wrote := false
	defer func() { p.unlockLedger(context.WithoutCancel(ctx), held, wrote) }()
	doc, err := p.loadLedger(ctx)
	if err != nil {
		answer(g.take(), p.ledgerUnreadable(err))
		return
	}
	if doc.Fence != held.fence {
		return // written meanwhile; the next round locks the new fence
	}
	readRaw := p.lastRaw
	ops := g.take()
	for _, op := range ops {
		if op.inPlace {
			op.err = op.fn(doc)
			continue
		}
		next := doc.deepCopy()
		if op.err = op.fn(next); op.err == nil {
			doc = next
		}
	}
	now := p.deps.Clock.Now()
	doc.pruneOperations(now.Add(-2 * time.Hour))
	if keep := p.config().HistoryRetention; keep > 0 {
		doc.pruneHistory(now.Add(-keep))
	}
	doc.Fence = held.fence + 1
	raw, err := doc.encode()
	if err != nil {
		answer(ops, fmt.Errorf("encode pool ledger: %w", err))
		return
	}
	// Compare-and-write: store only what still follows the stored state, within the hold.
	current, err := p.deps.Storage.Load(ctx, p.key)
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && readRaw == nil) {
		p.lastRaw, p.lastDoc = nil, nil
		answer(ops, fmt.Errorf("%w: reload %s before writing: %v", ErrLedgerUnavailable, p.key, err))
		return
	}
	if !bytes.Equal(current, readRaw) {
		p.lastRaw, p.lastDoc = nil, nil
		answer(ops, fmt.Errorf("%w: %s changed under the lock (fence %d); nothing written", ErrLedgerBusy, p.key, held.fence))
		return
	}
	if d := p.since(held.since); d > g.lock.holdMax {
		answer(ops, fmt.Errorf("%w: ledger lock held %s, longer than %s; nothing written", ErrLedgerBusy, d.Round(time.Millisecond), g.lock.holdMax))
		return
	}
	if err := p.deps.Storage.Store(context.WithoutCancel(ctx), p.key, raw); err != nil {
		p.lastRaw, p.lastDoc = nil, nil // what the storage holds now is unknown
		answer(ops, fmt.Errorf("%w: store %s: %v", ErrLedgerUnavailable, p.key, err))
		return
	}
	wrote = true
	p.lastRaw, p.lastDoc = raw, doc.deepCopy()
	p.remember(doc, nil)
	p.moveHistoryIfDue(p.lastDoc) // before the answers: a caller sees the move under way
	answer(ops, nil)
}
