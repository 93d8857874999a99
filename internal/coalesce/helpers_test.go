package coalesce

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// patience bounds every wait in these tests: generous, so a loaded machine never flakes;
// reaching it means the behaviour under test is missing.
const patience = 20 * time.Second

// testWriter is a waiter's http.ResponseWriter that tests may inspect while it is written.
type testWriter struct {
	mu      sync.Mutex
	header  http.Header
	status  int
	body    bytes.Buffer
	flushes int
	// beforeWrite, if set, runs before each Write without the lock (to block or fail).
	beforeWrite func(p []byte) error
	wrote       chan struct{} // receives (without blocking) after each Write
}

func newTestWriter() *testWriter {
	return &testWriter{header: make(http.Header), wrote: make(chan struct{}, 1)}
}

func (w *testWriter) Header() http.Header { return w.header }

func (w *testWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = code
	}
}

func (w *testWriter) Write(p []byte) (int, error) {
	if w.beforeWrite != nil {
		if err := w.beforeWrite(p); err != nil {
			return 0, err
		}
	}
	w.mu.Lock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(p)
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *testWriter) Flush() {
	w.mu.Lock()
	w.flushes++
	w.mu.Unlock()
}

func (w *testWriter) Status() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

func (w *testWriter) Body() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.body.Bytes())
}

func (w *testWriter) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Len()
}

// waitLen blocks until at least n body bytes were written.
func (w *testWriter) waitLen(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(patience)
	for w.Len() < n {
		select {
		case <-w.wrote:
		case <-deadline:
			t.Fatalf("waiter got %d bytes, want at least %d", w.Len(), n)
		}
	}
}

// waitersOn returns how many waiters are attached to the flight under way for r.
func (g *Group) waitersOn(r *http.Request) int {
	key, ok := Key(r)
	if !ok {
		return 0
	}
	return g.waitersOnKey(key)
}

func (g *Group) waitersOnKey(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.flights[key]; f != nil {
		return f.waiters
	}
	return 0
}

// waitFor polls cond until it holds; polling only paces the check, it asserts no timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func get(target string) *http.Request {
	return httpRequest(context.Background(), http.MethodGet, target)
}

func httpRequest(ctx context.Context, method, target string) *http.Request {
	r, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		panic(err)
	}
	r.RequestURI = r.URL.RequestURI()
	return r
}

// pattern returns n bytes that differ by position, so a misplaced chunk shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// result is one waiter's outcome.
type result struct {
	w   *testWriter
	err error
}

// serveAsync runs g.ServeHTTP in a goroutine.
func serveAsync(g *Group, w *testWriter, r *http.Request, up Upstream) <-chan result {
	out := make(chan result, 1)
	go func() {
		err := g.ServeHTTP(w, r, up)
		out <- result{w, err}
	}()
	return out
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(patience):
		t.Fatal("waiter did not finish")
		return result{}
	}
}

// gate is an upstream that writes headers, then the body in parts, each part released by
// the test.
type gate struct {
	calls   chan *http.Request
	release chan []byte // each value is written; close to end the body
	status  int
	header  http.Header
}

func newGate() *gate {
	return &gate{calls: make(chan *http.Request, 100), release: make(chan []byte), status: http.StatusOK}
}

func (gt *gate) upstream(w http.ResponseWriter, r *http.Request) error {
	gt.calls <- r
	for k, v := range gt.header {
		w.Header()[k] = v
	}
	w.WriteHeader(gt.status)
	w.(http.Flusher).Flush()
	for {
		select {
		case part, ok := <-gt.release:
			if !ok {
				return nil
			}
			if _, err := w.Write(part); err != nil {
				return err
			}
		case <-r.Context().Done():
			return context.Cause(r.Context())
		}
	}
}

func (gt *gate) send(t *testing.T, part []byte) {
	t.Helper()
	select {
	case gt.release <- part:
	case <-time.After(patience):
		t.Fatal("upstream did not take the next part")
	}
}

func (gt *gate) call(t *testing.T) *http.Request {
	t.Helper()
	select {
	case r := <-gt.calls:
		return r
	case <-time.After(patience):
		t.Fatal("upstream was not called")
		return nil
	}
}

// countingObserver records Observer events.
type countingObserver struct {
	mu                                                sync.Mutex
	leaders, followers, bypasses, upstreams, timeouts int
	shared                                            int64
	memory, spill                                     int64 // bytes held now
	unshared, stallCuts                               int
}

func (o *countingObserver) Request(coalesced bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if coalesced {
		o.followers++
	} else {
		o.leaders++
	}
}
func (o *countingObserver) Bypass()   { o.mu.Lock(); o.bypasses++; o.mu.Unlock() }
func (o *countingObserver) Upstream() { o.mu.Lock(); o.upstreams++; o.mu.Unlock() }
func (o *countingObserver) BytesShared(n int64) {
	o.mu.Lock()
	o.shared += n
	o.mu.Unlock()
}
func (o *countingObserver) WaitTimeout() { o.mu.Lock(); o.timeouts++; o.mu.Unlock() }
func (o *countingObserver) MemoryHeld(d int64) {
	o.mu.Lock()
	o.memory += d
	o.mu.Unlock()
}
func (o *countingObserver) SpillHeld(d int64) { o.mu.Lock(); o.spill += d; o.mu.Unlock() }
func (o *countingObserver) Unshared()         { o.mu.Lock(); o.unshared++; o.mu.Unlock() }
func (o *countingObserver) StallCut()         { o.mu.Lock(); o.stallCuts++; o.mu.Unlock() }

func (o *countingObserver) snapshot() countingObserver {
	o.mu.Lock()
	defer o.mu.Unlock()
	return countingObserver{leaders: o.leaders, followers: o.followers, bypasses: o.bypasses,
		upstreams: o.upstreams, timeouts: o.timeouts, shared: o.shared,
		memory: o.memory, spill: o.spill, unshared: o.unshared, stallCuts: o.stallCuts}
}
