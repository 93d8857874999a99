package inject

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/replay"
)

// warnedUnguarded: the "no read deadlines on this connection" warning is logged once.
var warnedUnguarded atomic.Bool

// body is an injected upload's body: a replay copy of its head (within the process-wide
// bound) over a reader that ends the upload when the client goes silent.
type body struct {
	*replay.Body
	idle   *replay.IdleReader
	logger *zap.Logger
}

// newBody wraps r.Body; the caller must release it before the handler returns.
func (in *Injector) newBody(w http.ResponseWriter, r *http.Request) *body {
	// The server's whole-request read deadline (Caddy's read_body timeout) stays in force.
	var hard time.Time
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 {
		hard = time.Now().Add(srv.ReadTimeout)
	}
	idle := replay.NewIdleReader(r.Body, http.NewResponseController(w), in.IdleTimeout, hard, nil)
	b := &body{Body: replay.NewBody(idle, r.ContentLength, in.Replay), idle: idle, logger: in.Logger}
	if b.NoRoom() {
		in.Observer.ReplayNoRoom()
		in.Logger.Debug("upload streams without a replay copy: max_replay_memory reached",
			zap.Int64("max_replay_memory", in.Replay.Stats().Max))
	}
	r.Body = b
	return b
}

// release ends the body's use of the connection and gives its copy back.
func (b *body) release() {
	b.idle.Stop()
	b.Body.Release()
	if !b.idle.Guarded() && warnedUnguarded.CompareAndSwap(false, true) {
		b.logger.Warn("upload_idle_timeout cannot be enforced: this connection takes no read deadlines; " +
			"set the server's read_body timeout to bound silent uploads")
	}
}

// replayBody returns the upload's body to send again: nothing to send for an upload
// without a body, and not ok when too much of it is gone.
func (in *Injector) replayBody(r *http.Request, b *body) (io.ReadCloser, bool) {
	if b == nil {
		return http.NoBody, true
	}
	return replayWithin(r.Context(), b, in.ReplayWait)
}

// replayWithin is b.Replay(), given up after d or when ctx ends. A replay that completes
// after that finds the body released and hands out nothing.
func replayWithin(ctx context.Context, b *body, d time.Duration) (io.ReadCloser, bool) {
	type replayed struct {
		rc io.ReadCloser
		ok bool
	}
	done := make(chan replayed, 1)
	go func() {
		rc, ok := b.Replay()
		done <- replayed{rc, ok}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case res := <-done:
		return res.rc, res.ok
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil, false
}

// countingReader counts the body bytes Bee read.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}
