package cache

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Handler is a handler that returns its error (Caddy's handler shape).
type Handler interface {
	ServeHTTP(http.ResponseWriter, *http.Request) error
}

// HandlerFunc is a function as a Handler.
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// ServeHTTP calls f.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) error { return f(w, r) }

// verificationWait is how long a miss waits for the body of the same key being verified
// before it goes to Bee: about a Bee retrieval (BMT hashing runs at ~50 MB/s per core, so a
// 10 MiB body takes ~0.2 s alone; longer waits raised the Zipf bench's p99 more than they
// saved Bee fetches).
const verificationWait = 200 * time.Millisecond

// ServeImmutable answers a content-addressed request from c (nil: no cache) when it has the
// entry (served); otherwise it returns next wrapped so that Bee's answer is marked immutable
// (when it is) and a complete, intact 200 offered to the cache. The wrapper belongs under a
// coalescer: one flight, one recording. A request that is not content-addressed gets next
// as it is.
func ServeImmutable(c *Cache, w http.ResponseWriter, r *http.Request, next Handler, logger *zap.Logger) (served bool, wrapped Handler) {
	t, ok := classify(r.Method, r.URL.Path, r.URL.RawQuery, r.Header, c != nil) // no cache, no key
	if !ok {
		return false, next
	}
	if c != nil {
		hit, ok := c.Get(t.Key)
		if !ok && c.AwaitVerification(r.Context(), t.Key, verificationWait) {
			hit, ok = c.Get(t.Key)
		}
		if ok {
			if err := c.Serve(w, r, hit); err != nil {
				// Headers and part of the body are out: cut, never a short answer.
				logger.Warn("content cache entry failed mid-answer; connection cut", zap.Error(err))
				panic(http.ErrAbortHandler)
			}
			return true, nil
		}
		c.Missed()
	}
	return false, &recording{next: next, c: c, t: t}
}

// recording is next with its answer going through a Recorder: one allocation for both, as
// the wrapper normally serves one upstream call.
type recording struct {
	next  Handler
	c     *Cache
	t     Target
	used  atomic.Bool
	first Recorder
}

func (h *recording) ServeHTTP(w http.ResponseWriter, r *http.Request) (err error) {
	rec := &h.first
	if h.used.Swap(true) {
		rec = new(Recorder) // a second call records apart
	}
	*rec = Recorder{ResponseWriter: w, c: h.c, t: h.t, method: r.Method}
	intact := false
	defer func() { rec.Finish(intact) }() // also on a panic (a cut body): never admitted
	err = h.next.ServeHTTP(rec, r)
	intact = err == nil
	return err
}

// StatsAnswer is the body of the cache's stats endpoint for c (nil: the cache is off).
func StatsAnswer(c *Cache) any {
	if c == nil {
		return map[string]bool{"enabled": false}
	}
	return struct {
		Enabled bool `json:"enabled"`
		Stats
	}{true, c.Stats()}
}

// PurgeReference removes every entry of hex reference ref from c (nil: none) and returns
// the answer of the purge endpoint, or an error for a ref that is not a reference.
func PurgeReference(c *Cache, ref string) (answer map[string]any, removed int, err error) {
	if _, ok := Classify(http.MethodGet, "/bytes/"+ref, "", nil); !ok {
		return nil, 0, errors.New("cache purge: want a hex reference (64 or 128 digits)")
	}
	if c != nil {
		removed = c.Purge(ref)
	}
	return map[string]any{"ref": strings.ToLower(ref), "removed": removed}, removed, nil
}
