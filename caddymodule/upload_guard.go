package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/replay"
)

const (
	// defaultMaxReplayMemory bounds the replay copies of all injected uploads together:
	// 64 uploads of 1 MiB or more at once keep one, on a box with 512 MiB and up.
	defaultMaxReplayMemory = 64 << 20

	// defaultUploadIdleTimeout ends an injected upload whose client sent nothing for this
	// long; generous for a mobile client, short enough that silent sockets cannot pile up.
	defaultUploadIdleTimeout = 60 * time.Second

	// maxConfigSize caps size options, so a typo cannot ask for a petabyte.
	maxConfigSize = 1 << 40
)

// replayMemory holds the replay copies of every injected upload in this process. The bound
// is process-wide (memory is): each provisioned injecting handler sets it, the last wins.
var replayMemory = replay.NewBudget(defaultMaxReplayMemory)

// warnedUnguarded: the "no read deadlines on this connection" warning is logged once.
var warnedUnguarded atomic.Bool

func (h *Handler) maxReplayMemory() int64 {
	if h.MaxReplayMemory > 0 {
		return h.MaxReplayMemory
	}
	return defaultMaxReplayMemory
}

func (h *Handler) uploadIdleTimeout() time.Duration {
	if h.UploadIdleTimeout > 0 {
		return time.Duration(h.UploadIdleTimeout)
	}
	return defaultUploadIdleTimeout
}

func (h *Handler) validateUploadGuards() error {
	if h.MaxReplayMemory < 0 || h.MaxReplayMemory > maxConfigSize {
		return fmt.Errorf("max_replay_memory %d: want a size between 1 byte and 1TiB, e.g. 64MiB", h.MaxReplayMemory)
	}
	if h.UploadIdleTimeout < 0 {
		return fmt.Errorf("upload_idle_timeout %s: must not be negative", time.Duration(h.UploadIdleTimeout))
	}
	return nil
}

// provisionUploadGuards applies this handler's replay bound when it injects.
func (h *Handler) provisionUploadGuards() {
	if h.injecting() {
		replayMemory.SetMax(h.maxReplayMemory())
	}
}

// injectedBody is an injected upload's body: a replay copy of its head (within the
// process-wide bound) over a reader that ends the upload when the client goes silent.
type injectedBody struct {
	*replay.Body
	idle   *replay.IdleReader
	logger *zap.Logger
}

// newInjectedBody wraps r.Body; the caller must release it before the handler returns.
func (h *Handler) newInjectedBody(w http.ResponseWriter, r *http.Request) *injectedBody {
	// The server's whole-request read deadline (Caddy's read_body timeout) stays in force.
	var hard time.Time
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 {
		hard = time.Now().Add(srv.ReadTimeout)
	}
	idle := replay.NewIdleReader(r.Body, http.NewResponseController(w), h.uploadIdleTimeout(), hard, nil)
	body := &injectedBody{Body: replay.NewBody(idle, r.ContentLength, replayMemory), idle: idle, logger: h.logger}
	if body.NoRoom() {
		replayNoRoom.Inc()
		h.logger.Debug("upload streams without a replay copy: max_replay_memory reached",
			zap.Int64("max_replay_memory", h.maxReplayMemory()))
	}
	r.Body = body
	return body
}

func (b *injectedBody) replay() (io.ReadCloser, bool) { return b.Body.Replay() }

// release ends the body's use of the connection and gives its copy back.
func (b *injectedBody) release() {
	b.idle.Stop()
	b.Body.Release()
	if !b.idle.Guarded() && warnedUnguarded.CompareAndSwap(false, true) {
		b.logger.Warn("upload_idle_timeout cannot be enforced: this connection takes no read deadlines; " +
			"set the server's read_body timeout to bound silent uploads")
	}
}

func (b *injectedBody) endedIdle() bool { return b.idle.EndedIdle() }

// endIdleUpload answers an upload whose client went silent with 408; nothing is recorded
// against the batch (Bee got a cut body and stored nothing). Over HTTP/1 the failed read also
// cancels the request, and reverse_proxy may have answered 499 already: that answer stands.
func (h *Handler) endIdleUpload(rec caddyhttp.ResponseRecorder, err error) error {
	uploadsIdleEnded.Inc()
	h.logger.Info("injected upload ended: the client sent nothing within upload_idle_timeout",
		zap.Duration("upload_idle_timeout", h.uploadIdleTimeout()), zap.Error(err))
	if !rec.Buffered() {
		return err // the response went out already
	}
	return caddyhttp.Error(http.StatusRequestTimeout,
		fmt.Errorf("upload ended: nothing received for %s; send the body without pauses: %w", h.uploadIdleTimeout(), replay.ErrIdle))
}
