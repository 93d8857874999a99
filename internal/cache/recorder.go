package cache

import (
	"net/http"
	"strconv"
)

// Recorder is the ResponseWriter the upstream (Caddy's reverse_proxy) writes a classified
// request's answer to: it marks immutable answers with CacheControl and keeps a copy of a
// GET's complete 200 body for the cache. It sits below the coalescer, so one flight makes
// one recording, whatever the number of waiters.
type Recorder struct {
	http.ResponseWriter
	c      *Cache // nil: headers only
	t      Target
	method string

	recording bool
	meta      Meta
	buf       []byte
	want      int64
	failed    bool
	pk        *pendingKey
	cc        [1]string // the Cache-Control value the answer's header references
}

// NewRecorder wraps w for the upstream answer to a request classified as t; c may be nil.
func NewRecorder(w http.ResponseWriter, c *Cache, t Target, method string) *Recorder {
	return &Recorder{ResponseWriter: w, c: c, t: t, method: method}
}

// WriteHeader marks an immutable answer and decides whether to record its body: a GET's 200
// with a declared length within the largest entry and the recording budget, not encoded,
// for a key popular enough (doorkeeper.go).
// A /chunks answer has no ETag (Bee sends none) and is recorded anyway: its bytes are
// checked against the address before admission, and its cache hits carry the address as
// ETag.
func (r *Recorder) WriteHeader(code int) {
	h := r.Header()
	immutable := Immutable(code, h)
	if immutable {
		r.cc[0] = CacheControl
		h["Cache-Control"] = r.cc[:1:1] // as h.Set, without allocating the slice
	}
	if r.c != nil && !r.recording && !r.failed && r.method == http.MethodGet && code == http.StatusOK &&
		(immutable || r.t.Kind == KindChunks && h.Get("Swarm-Feed-Index") == "") && h.Get("Content-Encoding") == "" {
		r.start(h)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *Recorder) start(h http.Header) {
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || n < 0 || n > r.c.MaxEntry() {
		return
	}
	// A key asked for once is not worth a copy and a hash (most keys are asked for once),
	// nor one less popular than what the cache evicts for room; a stampede's joiners, or
	// later requests, make it worth it.
	if !r.c.door.worthRecording(r.t.Key, n) {
		return
	}
	// One recording per key at a time: misses that arrive while a body is being recorded
	// or verified do not record (and hash) it again.
	pk := &pendingKey{done: make(chan struct{})}
	if _, busy := r.c.recording.LoadOrStore(r.t.Key, pk); busy {
		return
	}
	if !r.c.pending.tryAcquire(n) {
		r.c.settle(r.t.Key)
		return
	}
	r.pk = pk
	meta := Meta{Key: r.t.Key, Kind: r.t.Kind, Ref: r.t.Ref, Size: n, Header: http.Header{}}
	for _, name := range keptHeaders {
		if v := h.Values(name); len(v) > 0 {
			meta.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), v...)
		}
	}
	if r.t.Kind == KindChunks {
		meta.Header.Set("ETag", `"`+r.t.Ref+`"`)
	}
	r.recording, r.meta, r.want, r.buf = true, meta, n, make([]byte, 0, n)
}

// Write passes p on and keeps a copy; a failed or short write, or a body longer than
// declared, ends the recording.
func (r *Recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	if r.recording {
		if err != nil || n < len(p) || int64(len(r.buf)+n) > r.want {
			r.drop()
		} else {
			r.buf = append(r.buf, p...)
		}
	}
	return n, err
}

// Flush flushes the wrapped writer.
func (r *Recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the wrapped writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *Recorder) drop() {
	if r.recording {
		r.c.pending.release(r.want)
		r.c.settle(r.t.Key)
		r.recording, r.buf = false, nil
	}
	r.failed = true
}

// Finish ends the recording: intact is true only when the upstream returned without error
// and without a panic (a cut body). Only a complete body of the declared length is offered
// to the cache, which verifies it before admission.
func (r *Recorder) Finish(intact bool) {
	if !r.recording {
		return
	}
	if !intact || int64(len(r.buf)) != r.want {
		r.drop()
		return
	}
	a := admission{t: r.t, meta: r.meta, body: r.buf}
	r.recording, r.buf = false, nil
	r.pk.offered.Store(true)
	if !r.c.offer(a) {
		r.c.pending.release(r.want)
		r.c.settle(r.t.Key)
	}
}
