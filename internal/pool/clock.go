package pool

import (
	"context"
	"time"
)

// Clock is the pool's time: what it reads (TTL, backoff, the hourly cap, lock takeover) and
// what it waits on (check and poll intervals, purchase timeouts, ledger waits). Tests inject a
// fake one they advance, so nothing in the pool waits on the machine's clock.
type Clock interface {
	Now() time.Time
	// NewTimer fires once, d from now.
	NewTimer(d time.Duration) Timer
	// AfterFunc runs f in its own goroutine, d from now.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending wait on a Clock. C is nil for an AfterFunc timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// since is how long ago t was on the pool's clock.
func (p *Pool) since(t time.Time) time.Duration { return p.deps.Clock.Now().Sub(t) }

// withTimeout is context.WithTimeout on the pool's clock. On another clock than the machine's
// the context is cancelled with cause context.DeadlineExceeded once d has passed on that clock
// (its Err is context.Canceled, and it has no Deadline: that instant is not the machine's).
func (p *Pool) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := p.deps.Clock.(realClock); ok {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	t := p.deps.Clock.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}
