package coalesce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// flight is one upstream request shared by every waiter with the same key.
//
// It starts unshared: the upstream goroutine writes the body straight to the leader's
// client (direct), keeping a copy of at most joinPrefixLimit bytes (the join prefix,
// charged to the memory bound) so that a request arriving after the first bytes can still
// join from byte 0. The first follower turns the prefix into a spool; at its next call
// the upstream goroutine hands the leader's client back to the leader, which reads on
// from the spool where the direct writes left off. Once the prefix is gone (the body
// outgrew it, or the memory bound refused it) the flight takes no follower and leaves
// Group.flights: a later identical request starts its own flight.
type flight struct {
	key    string
	ctx    context.Context         // the upstream request's: values of the first request, no cancellation
	cancel context.CancelCauseFunc // cancels the upstream request
	g      *Group
	// isRetry marks the flight followers formed after giving up on a stuck one: its
	// waiters do not give up again.
	isRetry bool

	// Set by the upstream goroutine before the headers are published (headersDone),
	// read-only after.
	status  int
	header  http.Header // a snapshot no one writes to; waiters copy it
	headErr error       // the upstream failed before writing headers

	// Guarded by Group.mu.
	waiters int
	ended   bool      // the upstream returned or was abandoned; the flight is out of Group.flights
	retry   *flight   // the one flight followers formed after giving up on this one
	retryAt time.Time // when retry started

	mu           sync.Mutex
	headersDone  bool          // status, header or headErr are set
	headersReady chan struct{} // closed at headersDone; made when a waiter first needs it
	body         *spool        // nil while unshared
	direct       *direct       // the leader's client while the upstream goroutine writes to it
	prefix       []byte        // unshared: the body so far, while it fits joinPrefixLimit
	prefixCharge int64         // bytes of prefix charged to the memory bound
	unjoinable   bool
	sizeHint     int64

	// Storage for the leader's pointers, so a flight costs one allocation, not four:
	// leader is the first request's waiter, loan its direct (f.direct points here while
	// lent), writer the upstream's ResponseWriter.
	leader waiter
	loan   direct
	writer flightWriter
	values valuesOnly // ctx's parent
}

// valuesOnly is context.WithoutCancel kept inside the flight (one allocation less): the
// parent's values, never its deadline or cancellation.
type valuesOnly struct{ parent context.Context }

func (c *valuesOnly) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *valuesOnly) Done() <-chan struct{}       { return nil }
func (c *valuesOnly) Err() error                  { return nil }
func (c *valuesOnly) Value(key any) any           { return c.parent.Value(key) }

// direct is the leader's client, lent to the upstream goroutine while the flight is
// unshared. Its fields are guarded by flight.mu, the client itself belongs to whoever
// holds the loan.
type direct struct {
	client         *clientWriter // points to clientStore
	clientStore    clientWriter
	writing        bool // the upstream goroutine is in a call on the client
	leaving        bool // the leader's request ended: give the client back after the call
	sent           int64
	headersWritten bool
	handover       chan handover // receives exactly once
}

// handover ends the loan of the leader's client.
type handover struct {
	reader         *spoolReader // non-nil: the flight is shared; read on from here
	headersWritten bool
	done           bool  // the upstream finished while unshared; err is its outcome
	err            error // done: the outcome; else the client's own failure
	panicked       any   // the client's ResponseWriter panicked on the upstream goroutine
}

// handoverChans recycles the leaders' handover channels (see serveLeader).
var handoverChans sync.Pool

func getHandoverChan() chan handover {
	if c, ok := handoverChans.Get().(chan handover); ok {
		return c
	}
	return make(chan handover, 1)
}

func putHandoverChan(c chan handover) {
	if len(c) == 0 {
		handoverChans.Put(c)
	}
}

// closedChan is what headersChan returns once the headers are out: a flight that nobody
// waited on never makes a channel of its own.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// headersChan is closed once the flight's status and header (or headErr) are set.
func (f *flight) headersChan() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.headersReady == nil {
		if f.headersDone {
			return closedChan
		}
		f.headersReady = make(chan struct{})
	}
	return f.headersReady
}

// publishHeadersLocked releases the waiters of headersChan; f.mu is held.
func (f *flight) publishHeadersLocked() {
	f.headersDone = true
	if f.headersReady != nil {
		close(f.headersReady)
	}
}

// handOverLocked ends the loan; f.mu is held.
func (f *flight) handOverLocked(h handover) {
	d := f.direct
	f.direct = nil
	h.headersWritten = d.headersWritten
	d.handover <- h
}

// shareLocked hands the leader's client back with a reader where its direct writes left
// off; f.mu is held, f.body is set and the client is not in use.
func (f *flight) shareLocked() {
	f.handOverLocked(handover{reader: f.body.addReader(f.direct.sent)})
}

// claimDirect returns the leader's client for one call by the upstream goroutine, or nil
// when the flight is shared (the client is then handed back) or the leader left.
func (f *flight) claimDirect() *direct {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.claimDirectLocked()
}

func (f *flight) claimDirectLocked() *direct {
	d := f.direct
	switch {
	case d == nil:
		return nil
	case f.body != nil:
		f.shareLocked()
		return nil
	case d.leaving:
		f.handOverLocked(handover{err: errLeaderLeft})
		return nil
	}
	d.writing = true
	return d
}

// returnDirect ends one call on the leader's client.
func (f *flight) returnDirect(d *direct, sent int64, err error, panicked any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.returnDirectLocked(d, sent, err, panicked)
}

func (f *flight) returnDirectLocked(d *direct, sent int64, err error, panicked any) {
	d.writing = false
	d.sent += sent
	switch {
	case panicked != nil:
		f.handOverLocked(handover{panicked: panicked})
	case err != nil:
		f.handOverLocked(handover{err: err})
	case d.leaving:
		f.handOverLocked(handover{err: errLeaderLeft})
	}
}

// keepPrefixLocked appends p to the join prefix while it fits; it reports whether the
// flight just became unjoinable (so the caller takes it out of Group.flights).
func (f *flight) keepPrefixLocked(p []byte) (dropped bool) {
	if f.unjoinable {
		return false
	}
	need := len(f.prefix) + len(p)
	if need > joinPrefixLimit {
		f.dropPrefixLocked()
		return true
	}
	if need > cap(f.prefix) {
		size := prefixClassSize(min(max(2*cap(f.prefix), need, firstChunkSize, int(min(f.sizeHint, joinPrefixLimit))), joinPrefixLimit))
		if !f.g.mem.tryAcquire(int64(size) - f.prefixCharge) {
			f.dropPrefixLocked()
			f.g.opts.Observer.Unshared()
			return true
		}
		grown := append(getPrefix(size), f.prefix...)
		putPrefix(f.prefix)
		f.prefix, f.prefixCharge = grown, int64(size)
	}
	f.prefix = append(f.prefix, p...)
	return false
}

func (f *flight) dropPrefixLocked() {
	f.g.mem.release(f.prefixCharge)
	putPrefix(f.prefix) // never handed to a spool: addFollower clears f.prefix when it does
	f.prefix, f.prefixCharge, f.unjoinable = nil, 0, true
}

// addFollower attaches a follower reading from byte 0, making the flight shared if it
// was not; nil means the flight takes no more followers.
func (f *flight) addFollower() *spoolReader {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unjoinable {
		return nil
	}
	if f.body == nil {
		f.body = f.g.newSpool(f, f.prefix, f.prefixCharge)
		f.body.sizeHint = f.sizeHint
		f.prefix, f.prefixCharge = nil, 0
	}
	r := f.body.addReader(0)
	if r == nil {
		f.unjoinable = true
	}
	return r
}

// flightWriter is the http.ResponseWriter the upstream writes to. Only the upstream
// goroutine uses it.
type flightWriter struct {
	f           *flight
	method      string
	header      http.Header
	wroteHeader bool
	written     int64
	// writeErr is sticky: after a failed store, no later byte may land out of place, and
	// the flight ends as cut even if the upstream ignores the error.
	writeErr error
	// clientGone: the unshared flight's only client went away; not an upstream failure.
	clientGone bool
}

var _ http.Flusher = (*flightWriter)(nil)

// Header is the map the upstream writes its headers to. After WriteHeader it is a fresh
// one: the first became the flight's snapshot, and edits after the fact (trailers) never
// reach a client.
func (fw *flightWriter) Header() http.Header {
	if fw.header == nil {
		fw.header = make(http.Header)
	}
	return fw.header
}

// WriteHeader publishes status and a snapshot of the headers, and writes them to the
// leader's client while the flight is unshared. Informational (1xx) codes are not
// forwarded and a second final code is ignored, as net/http does.
func (fw *flightWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("coalesce: invalid WriteHeader code %d", code))
	}
	if fw.wroteHeader || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		return
	}
	f := fw.f
	fw.wroteHeader = true
	f.status = code
	// The upstream's map itself becomes the snapshot, no copy: the upstream gets a fresh
	// one from Header from here on. (An upstream that kept the map from an earlier Header
	// call and edits it after WriteHeader would race with the waiters; reverse_proxy asks
	// Header again for the trailers, as net/http's contract implies.)
	f.header = fw.Header()
	fw.header = nil
	n := contentLength(f.header)
	f.mu.Lock()
	if n > 0 {
		f.sizeHint = n // before the first Write, which is what reads it
		if f.body != nil {
			f.body.sizeHint = n
		}
	}
	f.publishHeadersLocked()
	d := f.claimDirectLocked()
	f.mu.Unlock()
	if d != nil {
		panicked := f.writeDirectHeader(d, code)
		f.mu.Lock()
		d.headersWritten = panicked == nil
		f.returnDirectLocked(d, 0, nil, panicked)
		f.mu.Unlock()
	}
}

// writeDirectHeader copies the snapshot to the leader's client and writes its status; a
// method with its own recover rather than a closure passed to catch: this runs on every
// unshared flight.
func (f *flight) writeDirectHeader(d *direct, code int) (panicked any) {
	defer func() { panicked = recover() }()
	appendHeader(d.client.w.Header(), f.header, false)
	d.client.w.WriteHeader(code)
	return nil
}

// appendHeader adds src's values to dst without aliasing src's slices (the client's
// writers may edit values in place), leaving out Set-Cookie when asked. The client's Server
// header goes first: reverse_proxy deletes the server's own from the writer it is given
// (the flight's, here), so that the upstream's answer carries the upstream's, or none. The new values of
// names dst lacks share backing arrays, each capped at its own length so an append to
// one never writes into another: one allocation instead of one per name when every name
// has one value (as nearly all do), in one pass over src. A name with more values may
// grow the store; the names already stored keep the old array, which stays valid.
func appendHeader(dst, src http.Header, noCookies bool) {
	delete(dst, "Server")
	store := make([]string, 0, len(src))
	for name, values := range src {
		if noCookies && strings.EqualFold(name, "Set-Cookie") {
			continue // a cookie set for the leader is never shared
		}
		if have := dst[name]; len(have) > 0 {
			dst[name] = append(have, values...)
			continue
		}
		start := len(store)
		store = append(store, values...)
		dst[name] = store[start:len(store):len(store)]
	}
}

// Write sends p to the leader's client while the flight is unshared, else stores a copy
// for every waiter; p may be reused by the caller at once. Once every waiter has left it
// fails, so the upstream stops early.
func (fw *flightWriter) Write(p []byte) (int, error) {
	if !fw.wroteHeader {
		fw.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if fw.writeErr != nil {
		return 0, fw.writeErr
	}
	n, err := fw.write(p)
	fw.written += int64(n)
	fw.writeErr = err
	return n, err
}

func (fw *flightWriter) write(p []byte) (int, error) {
	f := fw.f
	f.mu.Lock()
	if d := f.direct; d != nil && f.body == nil && !d.leaving {
		dropped := f.keepPrefixLocked(p)
		d.writing = true
		f.mu.Unlock()
		if dropped {
			f.g.forget(f)
		}
		var n int
		var err error
		panicked := catch(func() { n, err = d.client.write(p) })
		f.mu.Lock()
		f.returnDirectLocked(d, int64(n), err, panicked)
		kept, shared := f.direct != nil, f.body != nil
		f.mu.Unlock()
		if kept || shared {
			return len(p), nil // shared meanwhile: p is in the spool, through the prefix
		}
		fw.clientGone = true
		return n, errors.Join(errFlightAbandoned, err)
	}
	if f.direct != nil && f.body != nil {
		f.shareLocked()
	} else if f.direct != nil {
		f.handOverLocked(handover{err: errLeaderLeft})
	}
	body := f.body
	f.mu.Unlock()
	if body == nil || body.abandonedNow() {
		fw.clientGone = body == nil
		return 0, errFlightAbandoned
	}
	return body.Write(p)
}

// Flush sends headers, and flushes the leader's client while the flight is unshared;
// once shared every Write is visible to waiters at once, and each flushes its own client.
func (fw *flightWriter) Flush() {
	if !fw.wroteHeader {
		fw.WriteHeader(http.StatusOK)
	}
	if d := fw.f.claimDirect(); d != nil {
		panicked := catch(d.client.flush)
		fw.f.returnDirect(d, 0, nil, panicked)
	}
}

// contentLength is the declared body length, or 0 (without allocating an error when
// there is none).
func contentLength(h http.Header) int64 {
	cl := firstValue(h, "Content-Length")
	if cl == "" {
		return 0
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// firstValue is h.Get(name) for a name already in canonical form, without canonicalising
// it again (this runs on every flight).
func firstValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// catch runs fn and returns what it panicked with, if anything.
func catch(fn func()) (panicked any) {
	defer func() { panicked = recover() }()
	fn()
	return nil
}

// callUpstream runs upstream and turns a panic into an error wrapping ErrUpstreamAborted.
func callUpstream(upstream Handler, w http.ResponseWriter, r *http.Request) (panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
			err = fmt.Errorf("%w: upstream panicked: %v", ErrUpstreamAborted, p)
		}
	}()
	return nil, upstream.ServeHTTP(w, r)
}

// outcome settles what the waiters see once the upstream returned err: the same error
// before headers (set as headErr; the caller releases the waiters); after headers, a
// complete body or a cut one. It returns whether the flight failed (for health stats) and
// the error that ends the body.
func (fw *flightWriter) outcome(err error) (failed bool, bodyErr error) {
	if !fw.wroteHeader {
		if err != nil {
			fw.f.headErr = err
			return true, err
		}
		// Like net/http: a handler that wrote nothing sent an empty 200.
		fw.WriteHeader(http.StatusOK)
	}
	if err == nil {
		err = fw.writeErr
	}
	if err == nil {
		err = fw.shortBody()
	}
	return err != nil, aborted(err)
}

// shortBody reports a body shorter than its declared Content-Length.
func (fw *flightWriter) shortBody() error {
	if fw.method == http.MethodHead || fw.f.status == http.StatusNoContent || fw.f.status == http.StatusNotModified {
		return nil
	}
	declared := firstValue(fw.f.header, "Content-Length")
	if declared == "" {
		return nil
	}
	want, err := strconv.ParseInt(declared, 10, 64)
	if err != nil || fw.written >= want {
		return nil
	}
	return fmt.Errorf("upstream body ended after %d of %d bytes (Content-Length)", fw.written, want)
}

// isAbortHandler reports the panic Caddy's reverse_proxy and net/http use to cut a stream.
func isAbortHandler(p any) bool {
	err, ok := p.(error)
	return ok && errors.Is(err, http.ErrAbortHandler)
}
