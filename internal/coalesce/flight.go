package coalesce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// flight is one upstream request shared by every waiter with the same key.
type flight struct {
	key    string
	cancel context.CancelCauseFunc // cancels the upstream request
	body   *spool

	// Set by the upstream goroutine before headersReady is closed, read-only after.
	headersReady chan struct{}
	status       int
	header       http.Header // a snapshot no one writes to; waiters copy it
	headErr      error       // the upstream failed before writing headers

	// Guarded by Group.mu.
	waiters int
	ended   bool // the upstream returned; the flight is out of Group.flights
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
}

var _ http.Flusher = (*flightWriter)(nil)

func (fw *flightWriter) Header() http.Header { return fw.header }

// WriteHeader publishes status and a snapshot of the headers. Informational (1xx) codes
// are not forwarded and a second final code is ignored, as net/http does.
func (fw *flightWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("coalesce: invalid WriteHeader code %d", code))
	}
	if fw.wroteHeader || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		return
	}
	fw.wroteHeader = true
	fw.f.status = code
	fw.f.header = fw.header.Clone()
	if fw.f.header == nil {
		fw.f.header = http.Header{}
	}
	if n, err := strconv.ParseInt(fw.f.header.Get("Content-Length"), 10, 64); err == nil && n > 0 {
		fw.f.body.sizeHint = n // before the first Write, which is what reads it
	}
	close(fw.f.headersReady)
}

// Write stores a copy of p for every waiter; p may be reused by the caller at once. Once
// every waiter has left it fails, so the upstream stops early.
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
	if fw.f.body.abandonedNow() {
		return 0, errFlightAbandoned
	}
	n, err := fw.f.body.Write(p)
	fw.written += int64(n)
	fw.writeErr = err
	return n, err
}

// Flush is a no-op beyond sending headers: every Write is visible to waiters at once,
// and each waiter flushes its own client.
func (fw *flightWriter) Flush() {
	if !fw.wroteHeader {
		fw.WriteHeader(http.StatusOK)
	}
}

// callUpstream runs upstream and turns a panic into an error wrapping ErrUpstreamAborted.
func callUpstream(upstream Upstream, w http.ResponseWriter, r *http.Request) (panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
			err = fmt.Errorf("%w: upstream panicked: %v", ErrUpstreamAborted, p)
		}
	}()
	return nil, upstream(w, r)
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
	declared := fw.f.header.Get("Content-Length")
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
