package coalesce

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// clientWriter writes one waiter's response to its client with a write deadline of
// StallTimeout per write, so a client that accepts nothing is cut rather than pinning its
// flight. It belongs to one goroutine at a time.
type clientWriter struct {
	w           http.ResponseWriter
	rc          http.ResponseController // by value: one allocation less per request
	stall       time.Duration
	obs         Observer
	noDeadline  bool // the writer cannot take deadlines: writes may block for good
	readsFrom   bool // w is an io.ReaderFrom: spilled bytes go to it by sendfile
	deadlineSet bool

	// r and pacedWrites decide, at the first spilled copy, whether the server paces
	// writes itself (Options.PacedWrites); paced caches the answer.
	r           *http.Request
	pacedWrites func(*http.Request, time.Duration) bool
	pacedKnown  bool
	paced       bool
}

func newClientWriter(w http.ResponseWriter, r *http.Request, opts *Options) *clientWriter {
	c := &clientWriter{}
	c.init(w, r, opts)
	return c
}

func (c *clientWriter) init(w http.ResponseWriter, r *http.Request, opts *Options) {
	_, readsFrom := w.(io.ReaderFrom)
	*c = clientWriter{w: w, rc: *http.NewResponseController(w), stall: opts.StallTimeout, obs: opts.Observer,
		readsFrom: readsFrom, r: r, pacedWrites: opts.PacedWrites}
}

// serverPaced reports whether the server bounds each write piece by the stall timeout
// itself (Options.PacedWrites). Then the coalescer's own deadline is lifted: a deadline
// the handler sets caps the server's idle resets, which would bound the whole copy.
func (c *clientWriter) serverPaced() bool {
	if !c.pacedKnown {
		c.pacedKnown = true
		c.paced = c.pacedWrites != nil && c.r != nil && c.pacedWrites(c.r, c.stall)
	}
	if c.paced && c.deadlineSet {
		_ = c.rc.SetWriteDeadline(time.Time{})
		c.deadlineSet = false
	}
	return c.paced
}

func (c *clientWriter) arm() {
	if c.noDeadline {
		return
	}
	if err := c.rc.SetWriteDeadline(time.Now().Add(c.stall)); err != nil {
		c.noDeadline = true
		return
	}
	c.deadlineSet = true
}

// write sends p; an error wraps ErrClientGone.
func (c *clientWriter) write(p []byte) (int, error) {
	c.arm()
	n, err := c.w.Write(p)
	if err != nil {
		return n, c.gone("write response to client", err)
	}
	return n, nil
}

// flush pushes buffered bytes out; a failure shows at the next write.
func (c *clientWriter) flush() {
	c.arm()
	_ = c.rc.Flush()
}

// gone wraps a client-side failure, counting a stall cut.
func (c *clientWriter) gone(what string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.obs.StallCut()
		return fmt.Errorf("%w: %s: %w after %s (cut): %w", ErrClientGone, what, errStalled, c.stall, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrClientGone, what, err)
}

// done lifts the deadline so a kept-alive connection's next response starts afresh.
func (c *clientWriter) done() {
	if c.deadlineSet {
		_ = c.rc.SetWriteDeadline(time.Time{})
	}
}
