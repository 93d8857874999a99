// Package coalesce merges concurrent identical GET/HEAD requests into one upstream request
// and streams its response to every waiter, Varnish-style, without buffering whole bodies.
//
// The first request for a key is the leader: it starts a flight whose upstream request
// runs in its own goroutine, detached from the leader's client. Every waiter, the leader
// included, reads the flight's body from byte 0 at its own pace: the first MemoryWindow
// bytes from memory, the rest from a temp file. The flight ends with the upstream body;
// nothing is cached afterwards. See Key for which requests take part.
package coalesce

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
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

	mu      sync.Mutex
	flights map[string]*flight
	waiting int // waiters on all flights
}

// New returns a Group; zero Options fields take their defaults.
func New(opts Options) *Group {
	return &Group{
		opts:    opts.withDefaults(),
		stats:   &counters{},
		flights: make(map[string]*flight),
	}
}

// Close makes later requests go straight upstream; flights under way run to their end.
// It is safe to call more than once.
func (g *Group) Close() { g.closed.Store(true) }

// ServeHTTP serves r through a shared flight, or directly via upstream when r must bypass
// (see Key) or the Group is closed.
//
// Returned errors: the upstream's own error when it failed before writing headers (every
// waiter of the flight gets that same error, so the caller's error handling answers each
// the same way); an error wrapping ErrUpstreamAborted when the body was cut after headers
// were written (the caller must abort the connection); the client's context error or
// write error when this client went away.
func (g *Group) ServeHTTP(w http.ResponseWriter, r *http.Request, upstream Upstream) error {
	g.stats.total.Add(1)
	key, ok := Key(r)
	if !ok || g.closed.Load() {
		g.opts.Observer.Bypass()
		g.stats.upstream.Add(1)
		return upstream(w, r)
	}
	f, leader := g.join(key, r, upstream)
	g.opts.Observer.Request(!leader)
	fallback, err := g.wait(w, r, f, leader)
	if !fallback {
		return err
	}
	// The leader's headers did not come within MaxWait: go alone.
	g.opts.Observer.WaitTimeout()
	g.opts.Observer.Upstream()
	g.stats.upstream.Add(1)
	return upstream(w, r)
}

// join attaches r to the flight for key, starting one (and its upstream goroutine) when
// none is under way.
func (g *Group) join(key string, r *http.Request, upstream Upstream) (f *flight, leader bool) {
	g.mu.Lock()
	f = g.flights[key]
	leader = f == nil
	var ctx context.Context
	if leader {
		// Values survive (Caddy's replacer, vars, logger); cancellation does not: the
		// upstream outlives the leader's client and stops only when every waiter left.
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(context.WithoutCancel(r.Context()))
		f = &flight{
			key:          key,
			cancel:       cancel,
			headersReady: make(chan struct{}),
			body:         newSpool(g.opts.MemoryWindow, g.opts.TempDir, g.logRemoveError),
		}
		g.flights[key] = f
	}
	f.waiters++
	f.body.acquire()
	g.waiting++
	g.stats.noteWaiting(int64(g.waiting))
	g.mu.Unlock()

	if leader {
		req := r.Clone(ctx)
		req.Body = http.NoBody // Key bypasses requests with bodies
		g.opts.Observer.Upstream()
		g.stats.upstream.Add(1)
		go g.run(f, upstream, req)
	}
	return f, leader
}

// leave detaches one waiter. The last waiter of an unfinished flight cancels its upstream
// and takes it out of the map, so a later request starts afresh.
func (g *Group) leave(f *flight) {
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
		f.body.abandon()
		f.cancel(errFlightAbandoned)
	}
	f.body.release()
}

// run performs the flight's upstream request and settles its outcome for every waiter.
func (g *Group) run(f *flight, upstream Upstream, req *http.Request) {
	fw := &flightWriter{f: f, method: req.Method, header: make(http.Header)}
	panicked, err := callUpstream(upstream, fw, req)
	if panicked != nil && !isAbortHandler(panicked) {
		g.opts.Logger.Error("coalesced upstream panicked; every waiter gets an aborted response",
			zap.String("method", req.Method), zap.String("uri", req.RequestURI), zap.Any("panic", panicked), zap.Stack("stack"))
	}

	// Out of the map first: from here on a new request starts a new flight.
	g.mu.Lock()
	abandoned := f.ended
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
	if f.headErr != nil {
		close(f.headersReady)
	}
	f.body.finish(bodyErr)
	f.cancel(nil)
	f.body.release()
}

// wait serves one waiter from flight f. fallback=true means the follower gave up after
// MaxWait without headers and nothing was written to w.
func (g *Group) wait(w http.ResponseWriter, r *http.Request, f *flight, leader bool) (fallback bool, err error) {
	defer g.leave(f) // also when w panics: the other waiters carry on
	ctx := r.Context()
	joined := g.opts.Now()
	var timeout <-chan time.Time
	if !leader {
		timer := time.NewTimer(g.opts.MaxWait)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-f.headersReady:
	case <-timeout:
		g.stats.recordFollower(g.opts.Now(), true)
		return true, nil
	case <-ctx.Done():
		return false, fmt.Errorf("client gone while waiting for the coalesced response: %w", context.Cause(ctx))
	}
	if !leader {
		now := g.opts.Now()
		g.stats.coalesced.Add(1)
		g.stats.addWait(now.Sub(joined))
		g.stats.recordFollower(now, false)
	}
	if f.headErr != nil {
		return false, f.headErr
	}

	header := w.Header()
	for name, values := range f.header {
		if !leader && strings.EqualFold(name, "Set-Cookie") {
			continue // a cookie set for the leader is never shared
		}
		header[name] = append(header[name], values...) // never alias the shared slices
	}
	w.WriteHeader(f.status)

	flush := flusherOf(w)
	reader := spoolReader{s: f.body}
	for {
		data, err := reader.next(ctx, flush)
		if err != nil {
			if err == io.EOF {
				return false, nil
			}
			if ctx.Err() != nil {
				return false, fmt.Errorf("client gone during the coalesced response: %w", err)
			}
			// Cut upstream: push out everything we have before the caller breaks the
			// connection, so the client sees exactly the bytes that arrived.
			flush()
			return false, err
		}
		n, werr := w.Write(data)
		if !leader && n > 0 {
			g.opts.Observer.BytesShared(int64(n))
		}
		if werr != nil {
			return false, fmt.Errorf("write coalesced response to client: %w", werr)
		}
	}
}

func (g *Group) logRemoveError(err error) {
	g.opts.Logger.Warn("coalescer could not remove its temp file; delete it by hand", zap.Error(err))
}

// flusherOf returns how to flush w: directly when it is an http.Flusher, else through
// http.ResponseController (which follows Unwrap); errors mean it cannot flush.
func flusherOf(w http.ResponseWriter) func() {
	if f, ok := w.(http.Flusher); ok {
		return f.Flush
	}
	rc := http.NewResponseController(w)
	return func() { _ = rc.Flush() }
}
