package coalesce

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Defaults applied by New to zero Options fields.
// The global bounds fit a 2-core / 4 GiB box: a quarter of its memory at most for bodies
// shared by several readers, and a spill that a full temp dir is unlikely to need.
const (
	DefaultMemoryWindow int64 = 8 << 20
	DefaultMaxWait            = 5 * time.Second
	DefaultMaxMemory    int64 = 256 << 20
	DefaultMaxSpill     int64 = 4 << 30
	DefaultStallTimeout       = time.Minute
)

// joinPrefixLimit is how much of an unshared flight's body is kept so that a request
// arriving after the first bytes can still join it from byte 0. Beyond it the flight
// leaves the map and a later identical request starts its own.
const joinPrefixLimit = 64 << 10

// Upstream performs the real request and writes the response to w (in Caddy: the next
// handler, reverse_proxy). w implements http.ResponseWriter and http.Flusher. It returns an
// error if the upstream failed; a panic (such as http.ErrAbortHandler for a cut body) is
// recovered and reported to every waiter as ErrUpstreamAborted.
type Upstream func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP calls u: an Upstream is a Handler.
func (u Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) error { return u(w, r) }

// Handler is an Upstream as an interface (Caddy's handler shape): Group.Serve takes one
// without the closure a method value would cost.
type Handler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request) error
}

// Options configures a Group. The zero value is usable.
type Options struct {
	// MemoryWindow is how many body bytes a flight keeps in memory; the rest spills to a
	// temp file. <= 0 means DefaultMemoryWindow.
	MemoryWindow int64
	// MaxWait is how long a follower waits for the leader's response headers before it
	// also tries a new upstream request. Followers that give up on the same flight share
	// that one new request (at most one per MaxWait) and take whichever answers first.
	// <= 0 means DefaultMaxWait.
	MaxWait time.Duration
	// MaxMemory bounds the body bytes held in memory across all flights (shared windows
	// and the join prefixes of unshared flights). <= 0 means DefaultMaxMemory.
	MaxMemory int64
	// MaxSpill bounds the spill bytes on disk across all flights. <= 0 means
	// DefaultMaxSpill. With both bounds reached, a shared flight reads its upstream no
	// faster than its readers take the bytes, and new flights are not shared.
	MaxSpill int64
	// StallTimeout cuts a client that takes less than one write (at most 1 MiB) within this
	// long (a write deadline per write, where the ResponseWriter supports it). <= 0 means
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// TempDir holds spill files; "" means os.TempDir().
	TempDir string
	// Observer receives events for metrics; nil means none.
	Observer Observer
	// Logger reports recovered upstream panics and temp files that could not be removed;
	// nil means no logging.
	Logger *zap.Logger
	// Now is the clock for wait times and the health window; nil means time.Now.
	Now func() time.Time
	// FlightValues, when set, turns the context of the request that starts a flight into
	// the one whose values the upstream request carries; it runs on that request's
	// goroutine. The upstream outlives that request, so anything the upstream changes
	// through those values (Caddy's request variables, which reverse_proxy sets) must be
	// the flight's own copy: the request's handler may have returned and the server be
	// reading them. nil: the request's values as they are.
	FlightValues func(context.Context) context.Context
	// PacedWrites, when set and true for a request, says that the server itself bounds
	// every write piece to its client by a deadline of at most stall (Caddy's write idle
	// timeout, lowered to stall for the request). The spilled part then goes to the client
	// as the bare file, in the server's own pieces: net's sendfile sees through one
	// io.LimitedReader only, and the server adds its own. Otherwise the coalescer sends it
	// in pieces of its own, each under its own deadline. It runs on the request's goroutine.
	PacedWrites func(r *http.Request, stall time.Duration) bool
}

// Observer receives the coalescer's events, e.g. to feed Prometheus. Methods are called
// concurrently and must be cheap.
type Observer interface {
	// Request is called once per request that takes part in coalescing: coalesced is
	// false for a flight's leader and true for a follower that joined an existing flight.
	Request(coalesced bool)
	// Bypass is called for a request that goes straight upstream (see Key).
	Bypass()
	// Upstream is called for each upstream call the coalescer makes: one per flight,
	// including the one new flight followers form after MaxWait. Bypassed requests are not counted here.
	Upstream()
	// BytesShared is called with body bytes written to followers (bytes the upstream
	// did not have to send again).
	BytesShared(n int64)
	// WaitTimeout is called when a follower gives up after MaxWait.
	WaitTimeout()
	// MemoryHeld and SpillHeld are called with every change (in bytes, + or -) of the
	// body bytes held in memory and in spill files.
	MemoryHeld(delta int64)
	SpillHeld(delta int64)
	// Unshared is called when a flight stops taking new waiters because a bound was
	// reached (memory for its join prefix, or memory and spill for its body).
	Unshared()
	// StallCut is called when a client is cut for accepting no bytes for StallTimeout.
	StallCut()
}

type nopObserver struct{}

func (nopObserver) Request(bool)      {}
func (nopObserver) Bypass()           {}
func (nopObserver) Upstream()         {}
func (nopObserver) BytesShared(int64) {}
func (nopObserver) WaitTimeout()      {}
func (nopObserver) MemoryHeld(int64)  {}
func (nopObserver) SpillHeld(int64)   {}
func (nopObserver) Unshared()         {}
func (nopObserver) StallCut()         {}

func (o Options) withDefaults() Options {
	if o.MemoryWindow <= 0 {
		o.MemoryWindow = DefaultMemoryWindow
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxSpill <= 0 {
		o.MaxSpill = DefaultMaxSpill
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
