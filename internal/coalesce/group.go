// Package coalesce merges concurrent identical GET/HEAD requests into one upstream request
// and streams its response to every waiter, Varnish-style, without buffering whole bodies.
//
// The first request for a key is the leader: it starts a flight whose upstream request
// runs in its own goroutine, detached from the leader's client. While the leader is the
// only reader, that goroutine writes the body straight to the leader's client, at the
// client's pace. When a second request joins, the flight becomes shared: every waiter
// then reads the flight's body at its own pace, followers from byte 0: the first
// MemoryWindow bytes from memory, the rest from a temp file, within global bounds on
// memory and spill. The flight ends with the upstream body; nothing is cached afterwards.
// See Key for which requests take part.
package coalesce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Group coalesces requests. It is safe for concurrent use; create it with New.
type Group struct {
	opts   Options
	closed atomic.Bool
	stats  *counters
	mem    *budget // body bytes in memory, all flights together
	spill  *budget // body bytes in spill files, all flights together
	work   *workers

	mu      sync.Mutex
	flights map[string]*flight
	waiting int // waiters on all flights
}

// New returns a Group; zero Options fields take their defaults.
func New(opts Options) *Group {
	opts = opts.withDefaults()
	return &Group{
		opts:    opts,
		stats:   &counters{},
		mem:     newBudget(opts.MaxMemory, opts.Observer.MemoryHeld),
		spill:   newBudget(opts.MaxSpill, opts.Observer.SpillHeld),
		work:    newWorkers(),
		flights: make(map[string]*flight),
	}
}

// Close makes later requests go straight upstream; flights under way run to their end.
// It is safe to call more than once.
func (g *Group) Close() { g.closed.Store(true) }

// waiter is one request's membership of a flight.
type waiter struct {
	f      *flight
	reader *spoolReader // nil for a leader until its flight is shared
}

// ServeHTTP serves r through a shared flight, or directly via upstream when r must bypass
// (see Key) or the Group is closed.
//
// Returned errors: the upstream's own error when it failed before writing headers (every
// waiter of the flight gets that same error, so the caller's error handling answers each
// the same way); an error wrapping ErrUpstreamAborted when the body was cut after headers
// were written (the caller must abort the connection); an error wrapping ErrClientGone
// when this client went away, failed a write or was cut for stalling.
func (g *Group) ServeHTTP(w http.ResponseWriter, r *http.Request, upstream Upstream) error {
	return g.Serve(w, r, upstream)
}

// Serve is ServeHTTP with the upstream as a Handler.
func (g *Group) Serve(w http.ResponseWriter, r *http.Request, upstream Handler) error {
	g.stats.total.Add(1)
	var keyBuf [keyBufSize]byte
	key, ok := appendKey(keyBuf[:0], r)
	if !ok || g.closed.Load() {
		g.opts.Observer.Bypass()
		g.stats.upstream.Add(1)
		return upstream.ServeHTTP(w, r)
	}
	wt, d := g.join(key, r, w, upstream)
	g.opts.Observer.Request(d == nil)
	defer func() { g.leave(wt) }() // also when w panics: the other waiters carry on
	if d != nil {
		return g.serveLeader(w, r, wt, d)
	}
	return g.serveFollower(w, r, &wt, upstream)
}

// join attaches r to the flight for key, starting one (and its upstream goroutine) when
// none is under way or the one under way takes no more followers. A leader gets the
// loan of its client to the flight.
//
// The leader's waiter, loan and client writer live inside the flight: a request that
// shares nothing (the common case) costs as few allocations as possible.
func (g *Group) join(key []byte, r *http.Request, w http.ResponseWriter, upstream Handler) (*waiter, *direct) {
	g.mu.Lock()
	f := g.flights[string(key)] // no allocation for a lookup
	var reader *spoolReader
	if f != nil {
		if reader = f.addFollower(); reader == nil {
			delete(g.flights, f.key) // unjoinable: a new flight takes its place
			f = nil
		}
	}
	var d *direct
	var wt *waiter
	if f == nil {
		f = g.newFlight(string(key), r)
		d = &f.loan
		d.client = &d.clientStore
		d.clientStore.init(w, r, &g.opts)
		d.handover = getHandoverChan()
		f.direct = d
		g.flights[f.key] = f
		wt = &f.leader
		wt.f = f
	} else {
		wt = &waiter{f: f, reader: reader}
	}
	f.waiters++
	g.waiting++
	g.stats.noteWaiting(int64(g.waiting))
	g.mu.Unlock()

	if d != nil {
		g.start(f, r, upstream)
	}
	return wt, d
}

// newFlight makes a flight for r; Group.mu is held.
func (g *Group) newFlight(key string, r *http.Request) *flight {
	// Values survive (Caddy's replacer, vars, logger); cancellation does not: the upstream
	// outlives the leader's client and stops only when every waiter left.
	f := &flight{key: key, g: g}
	f.values.parent = r.Context()
	if g.opts.FlightValues != nil {
		f.values.parent = g.opts.FlightValues(f.values.parent)
	}
	f.ctx, f.cancel = context.WithCancelCause(&f.values)
	return f
}

func (g *Group) newSpool(f *flight, prefix []byte, prefixCharge int64) *spool {
	s := newSpool(g.opts.MemoryWindow, g.opts.TempDir, g.mem, g.spill, prefix, prefixCharge)
	s.onRemoveError = g.logRemoveError
	s.onLockstep = func() {
		f.mu.Lock()
		f.unjoinable = true
		f.mu.Unlock()
		g.forget(f)
		g.opts.Observer.Unshared()
	}
	return s
}

// start runs f's upstream request, a copy of r, in its own goroutine.
func (g *Group) start(f *flight, r *http.Request, upstream Handler) {
	req := cloneForUpstream(f.ctx, r)
	g.opts.Observer.Upstream()
	g.stats.upstream.Add(1)
	g.work.run(g, upstreamJob{f: f, upstream: upstream, req: req})
}

// forget takes f out of the map, so the next request for its key starts a new flight.
func (g *Group) forget(f *flight) {
	g.mu.Lock()
	if g.flights[f.key] == f {
		delete(g.flights, f.key)
	}
	g.mu.Unlock()
}

// leave detaches one waiter. The last waiter of an unfinished flight cancels its upstream
// and takes it out of the map, so a later request starts afresh.
func (g *Group) leave(wt *waiter) {
	if wt == nil {
		return
	}
	f := wt.f
	g.mu.Lock()
	f.waiters--
	g.waiting--
	abandon := f.waiters == 0 && !f.ended
	if abandon {
		f.ended = true
		if g.flights[f.key] == f {
			delete(g.flights, f.key)
		}
	}
	g.mu.Unlock()
	if abandon {
		f.mu.Lock()
		body := f.body
		f.mu.Unlock()
		if body != nil {
			body.abandon()
		}
		f.cancel(errFlightAbandoned)
	}
	wt.reader.close()
}

// run performs the flight's upstream request and settles its outcome for every waiter.
func (g *Group) run(f *flight, upstream Handler, req *http.Request) {
	fw := &f.writer
	*fw = flightWriter{f: f, method: req.Method}
	panicked, err := callUpstream(upstream, fw, req)
	if panicked != nil && !isAbortHandler(panicked) {
		g.opts.Logger.Error("coalesced upstream panicked; every waiter gets an aborted response",
			zap.String("method", req.Method), zap.String("uri", req.RequestURI), zap.Any("panic", panicked), zap.Stack("stack"))
	}

	// Out of the map first: from here on a new request starts a new flight.
	g.mu.Lock()
	abandoned := f.ended || fw.clientGone
	f.ended = true
	if g.flights[f.key] == f {
		delete(g.flights, f.key)
	}
	g.mu.Unlock()

	failed, bodyErr := fw.outcome(err)
	// Counted before any waiter is released, so Stats already shows the flight when its
	// waiters' requests return.
	if !abandoned {
		g.stats.recordFlight(g.opts.Now(), failed)
	}
	f.mu.Lock()
	if f.headErr != nil {
		f.publishHeadersLocked()
	}
	f.unjoinable = true
	switch d := f.direct; {
	case d == nil:
	case f.body != nil:
		f.shareLocked()
	case d.leaving:
		f.handOverLocked(handover{err: errLeaderLeft})
	default:
		outcome := bodyErr
		if f.headErr != nil {
			outcome = f.headErr
		}
		f.handOverLocked(handover{done: true, err: outcome})
	}
	body := f.body
	if body == nil {
		g.mem.release(f.prefixCharge)
		putPrefix(f.prefix) // unshared to the end: no reader ever saw it
		f.prefix, f.prefixCharge = nil, 0
	}
	f.mu.Unlock()

	if body != nil {
		body.finish(bodyErr)
	}
	f.cancel(nil)
	if body != nil {
		body.release()
	}
}

// serveLeader waits while the upstream goroutine writes to the leader's client, then
// either returns the flight's outcome or, once the flight is shared, reads on from its
// spool.
func (g *Group) serveLeader(w http.ResponseWriter, r *http.Request, wt *waiter, d *direct) error {
	ctx := r.Context()
	f := wt.f
	var h handover
	// Once this returns, the loan is over: the channel was received from, or f.direct was
	// cleared before any send (the only sender needs f.direct == d). Empty and with no
	// sender left, it serves the next flight.
	defer putHandoverChan(d.handover)
	select {
	case h = <-d.handover:
	case <-ctx.Done():
		f.mu.Lock()
		switch {
		case f.direct == d && !d.writing:
			f.direct = nil // the upstream goroutine finds the client gone at its next call
			f.mu.Unlock()
		case f.direct == d:
			d.leaving = true
			f.mu.Unlock()
			h = <-d.handover // the call under way ends soon: its connection is closed
		default:
			f.mu.Unlock()
			h = <-d.handover
		}
		wt.reader = h.reader // closed by leave
		if h.panicked != nil {
			panic(h.panicked)
		}
		return fmt.Errorf("%w: while the upstream answered: %w", ErrClientGone, context.Cause(ctx))
	}
	if h.panicked != nil {
		panic(h.panicked)
	}
	if h.reader == nil {
		if !h.done {
			return h.err // the client failed
		}
		if errors.Is(h.err, ErrUpstreamAborted) {
			d.client.flush() // the client sees exactly the bytes that arrived
		} else if h.err == nil {
			d.client.done()
		}
		return h.err
	}
	wt.reader = h.reader
	<-f.headersChan() // closed before any handover to a reader
	if f.headErr != nil {
		return f.headErr
	}
	return g.stream(ctx, w, wt, d.client, !h.headersWritten, true)
}

// serveFollower waits for the flight's headers, at most MaxWait; then it also joins (or
// starts) the one new flight the followers of a stuck flight share, and takes whichever
// answers first.
func (g *Group) serveFollower(w http.ResponseWriter, r *http.Request, wtp **waiter, upstream Handler) error {
	ctx := r.Context()
	wt := *wtp
	f := wt.f
	joined := g.opts.Now()
	var timeout <-chan time.Time
	if !f.isRetry {
		timer := time.NewTimer(g.opts.MaxWait)
		defer timer.Stop()
		timeout = timer.C
	}
	ready := f.headersChan()
	select {
	case <-ready:
		now := g.opts.Now()
		g.stats.coalesced.Add(1)
		g.stats.addWait(now.Sub(joined))
		g.stats.recordFollower(now, false)
	case <-timeout:
		g.stats.recordFollower(g.opts.Now(), true)
		g.opts.Observer.WaitTimeout()
		alt := g.joinRetry(f, r, upstream)
		var altReady <-chan struct{}
		if alt != nil {
			altReady = alt.f.headersChan()
		}
		select {
		case <-ready:
			g.leave(alt)
		case <-altReady:
			g.leave(wt)
			wt, *wtp = alt, alt
		case <-ctx.Done():
			g.leave(alt)
			return fmt.Errorf("%w: while waiting for the coalesced response: %w", ErrClientGone, context.Cause(ctx))
		}
	case <-ctx.Done():
		return fmt.Errorf("%w: while waiting for the coalesced response: %w", ErrClientGone, context.Cause(ctx))
	}
	if wt.f.headErr != nil {
		return wt.f.headErr
	}
	return g.stream(ctx, w, wt, newClientWriter(w, r, &g.opts), true, false)
}

// joinRetry attaches a follower that gave up on f to the flight formed for that, starting
// it if there is none and none started within the last MaxWait; nil means keep waiting
// for f alone.
func (g *Group) joinRetry(f *flight, r *http.Request, upstream Handler) *waiter {
	now := g.opts.Now()
	g.mu.Lock()
	if f.ended {
		g.mu.Unlock()
		return nil
	}
	if s := f.retry; s != nil && !s.ended {
		if reader := s.addFollower(); reader != nil {
			s.waiters++
			g.waiting++
			g.mu.Unlock()
			return &waiter{f: s, reader: reader}
		}
	}
	if f.retry != nil && now.Sub(f.retryAt) < g.opts.MaxWait {
		g.mu.Unlock()
		return nil
	}
	s := g.newFlight(f.key, r)
	s.isRetry = true
	s.body = g.newSpool(s, nil, 0)
	reader := s.body.addReader(0)
	s.waiters = 1
	g.waiting++
	f.retry, f.retryAt = s, now
	g.mu.Unlock()
	g.start(s, r, upstream)
	return &waiter{f: s, reader: reader}
}

// stream writes the flight's response to one client from its spool reader.
func (g *Group) stream(ctx context.Context, w http.ResponseWriter, wt *waiter, client *clientWriter, writeHeaders, leader bool) error {
	f := wt.f
	if writeHeaders {
		appendHeader(w.Header(), f.header, !leader)
		w.WriteHeader(f.status)
	}
	for {
		if n, ok, err := wt.reader.copySpilled(client); ok {
			if !leader && n > 0 {
				g.opts.Observer.BytesShared(n)
			}
			if err != nil {
				return err
			}
			continue
		}
		data, err := wt.reader.next(ctx, client.flush)
		if err != nil {
			if err == io.EOF {
				client.done()
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%w: during the coalesced response: %w", ErrClientGone, err)
			}
			// Cut upstream: push out everything we have before the caller breaks the
			// connection, so the client sees exactly the bytes that arrived.
			client.flush()
			return err
		}
		n, werr := client.write(data)
		if !leader && n > 0 {
			g.opts.Observer.BytesShared(int64(n))
		}
		if werr != nil {
			return werr
		}
	}
}

func (g *Group) logRemoveError(err error) {
	g.opts.Logger.Warn("coalescer could not remove its temp file; delete it by hand", zap.Error(err))
}
