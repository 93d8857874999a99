package replay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// ErrIdle ends an upload whose client sent nothing for the idle timeout.
var ErrIdle = errors.New("the client sent nothing within the upload idle timeout")

// DeadlineSetter sets the read deadline of the connection (or HTTP/2 and HTTP/3 stream) a
// request body arrives on; http.ResponseController does, for HTTP/1, 2 and 3.
type DeadlineSetter interface {
	SetReadDeadline(time.Time) error
}

// IdleReader ends a body whose client sends nothing for a while: each read may wait at most
// timeout for the client. The deadline is armed only while a read waits on the client, so an
// upstream that is slow to read never counts against the client, and it never outlasts the
// server's own deadline for the whole request (hard).
type IdleReader struct {
	src     io.Reader
	conn    DeadlineSetter
	timeout time.Duration
	hard    time.Time // the server's whole-request read deadline; zero: none
	now     func() time.Time

	mu          sync.Mutex // never held across a read of src
	stopped     bool
	unsupported bool      // conn cannot take deadlines: reads go unguarded
	ended       bool      // ended as idle
	sawEOF      bool      // the client's body was read to its end
	waitingTill time.Time // the idle deadline of the read waiting on the client; zero: none
}

// NewIdleReader guards src, read through conn. hard is the deadline the server set for the
// whole request (zero: none); it is restored between reads. now is the clock (nil: time.Now).
func NewIdleReader(src io.Reader, conn DeadlineSetter, timeout time.Duration, hard time.Time, now func() time.Time) *IdleReader {
	if now == nil {
		now = time.Now
	}
	return &IdleReader{src: src, conn: conn, timeout: timeout, hard: hard, now: now}
}

// Read reads src, failing with ErrIdle when the client sends nothing within the timeout.
func (r *IdleReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	switch {
	case r.ended:
		r.mu.Unlock()
		return 0, ErrIdle
	case r.stopped:
		// The handler has returned: the connection may serve another request already.
		r.mu.Unlock()
		return 0, ErrDetached
	}
	deadline := r.now().Add(r.timeout)
	capped := !r.hard.IsZero() && !deadline.Before(r.hard)
	if capped {
		deadline = r.hard
	}
	armed := false
	if !r.unsupported {
		if err := r.conn.SetReadDeadline(deadline); err != nil {
			r.unsupported = true
		} else {
			armed = true
			if !capped {
				r.waitingTill = deadline
			}
		}
	}
	r.mu.Unlock()

	n, err := r.src.Read(p)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.waitingTill = time.Time{}
	if err == io.EOF {
		r.sawEOF = true
	}
	if armed && !r.stopped {
		// Disarm at once: an HTTP/2 stream's deadline fires even with no read waiting.
		_ = r.conn.SetReadDeadline(r.hard)
	}
	if armed && !capped && err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		r.ended = true
		return n, fmt.Errorf("%w (%s): %v", ErrIdle, r.timeout, err)
	}
	return n, err
}

// Guarded reports whether the connection takes read deadlines (false once a read found it
// does not: that body is read without an idle limit).
func (r *IdleReader) Guarded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.unsupported
}

// EndedIdle reports whether the body was ended because the client went silent. A read still
// waiting past its deadline counts: the deadline's error may end the request (HTTP/1 cancels
// its context) before that read returns.
func (r *IdleReader) EndedIdle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended || (!r.waitingTill.IsZero() && !r.now().Before(r.waitingTill))
}

// SawEOF reports whether the client's body was read to its end.
func (r *IdleReader) SawEOF() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sawEOF
}

// Stop ends the reader's use of the connection; call it before the handler returns (a
// transport may still read afterwards, and must not touch the next request's deadline).
func (r *IdleReader) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
}

// Close leaves the client's body open; the server closes it after the handler.
func (r *IdleReader) Close() error { return nil }
