package coalesce

import (
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultMemoryWindow int64 = 8 << 20
	DefaultMaxWait            = 30 * time.Second
)

// Upstream performs the real request and writes the response to w (in Caddy: the next
// handler, reverse_proxy). w implements http.ResponseWriter and http.Flusher. It returns an
// error if the upstream failed; a panic (such as http.ErrAbortHandler for a cut body) is
// recovered and reported to every waiter as ErrUpstreamAborted.
type Upstream func(w http.ResponseWriter, r *http.Request) error

// Options configures a Group. The zero value is usable.
type Options struct {
	// MemoryWindow is how many body bytes a flight keeps in memory; the rest spills to a
	// temp file. <= 0 means DefaultMemoryWindow.
	MemoryWindow int64
	// MaxWait is how long a follower waits for the leader's response headers before it
	// gives up and goes upstream alone. <= 0 means DefaultMaxWait.
	MaxWait time.Duration
	// TempDir holds spill files; "" means os.TempDir().
	TempDir string
	// Observer receives events for metrics; nil means none.
	Observer Observer
	// Logger reports recovered upstream panics and temp files that could not be removed;
	// nil means no logging.
	Logger *zap.Logger
	// Now is the clock for wait times and the health window; nil means time.Now.
	Now func() time.Time
}

// Observer receives the coalescer's events, e.g. to feed Prometheus. Methods are called
// concurrently and must be cheap.
type Observer interface {
	// Request is called once per request that takes part in coalescing: coalesced is
	// false for a flight's leader and true for a follower that joined an existing flight.
	Request(coalesced bool)
	// Bypass is called for a request that goes straight upstream (see Key).
	Bypass()
	// Upstream is called for each upstream call the coalescer makes: one per flight, plus
	// one per follower that gave up after MaxWait. Bypassed requests are not counted here.
	Upstream()
	// BytesShared is called with body bytes written to followers (bytes the upstream
	// did not have to send again).
	BytesShared(n int64)
	// WaitTimeout is called when a follower gives up after MaxWait.
	WaitTimeout()
}

type nopObserver struct{}

func (nopObserver) Request(bool)      {}
func (nopObserver) Bypass()           {}
func (nopObserver) Upstream()         {}
func (nopObserver) BytesShared(int64) {}
func (nopObserver) WaitTimeout()      {}

func (o Options) withDefaults() Options {
	if o.MemoryWindow <= 0 {
		o.MemoryWindow = DefaultMemoryWindow
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
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
