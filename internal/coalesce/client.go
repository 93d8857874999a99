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
}

func newClientWriter(w http.ResponseWriter, stall time.Duration, obs Observer) *clientWriter {
	c := &clientWriter{}
	c.init(w, stall, obs)
	return c
}

func (c *clientWriter) init(w http.ResponseWriter, stall time.Duration, obs Observer) {
	_, readsFrom := w.(io.ReaderFrom)
	*c = clientWriter{w: w, rc: *http.NewResponseController(w), stall: stall, obs: obs, readsFrom: readsFrom}
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
