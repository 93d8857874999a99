package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

const (
	batchHeader = "Swarm-Postage-Batch-Id"
	stampHeader = "Swarm-Postage-Stamp"
	pinHeader   = "Swarm-Pin"

	// replayLimit is how much of an injected upload is kept while it streams, so it can be
	// sent again with another batch when Bee rejects the injected one.
	replayLimit = 1 << 20

	// batchIDPlaceholder lets access logs record the injected batch: {http.bee.batch_id}.
	batchIDPlaceholder = "http.bee.batch_id"
)

// wantsInjection reports whether an upload carries no batch of its own: no batch header, an
// empty one or the all-zero id that bee-js and swarm-cli send to gateways, and no pre-signed
// stamp. A real id is never overwritten.
func wantsInjection(header http.Header) bool {
	if header.Get(stampHeader) != "" {
		return false
	}
	for _, v := range header.Values(batchHeader) {
		if strings.Trim(strings.TrimSpace(v), "0") != "" {
			return false
		}
	}
	return true
}

// serveInjected uploads r with a pool batch, and when Bee rejects that batch (402, 404, 422)
// retires it and, if Bee had read no more than replayLimit bytes of the body, sends it once
// more with another batch.
func (h *Handler) serveInjected(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	p := h.stampPool()
	var body *replayableBody
	if r.Body != nil && r.Body != http.NoBody {
		body = newReplayableBody(r.Body, r.ContentLength)
		defer body.release()
		r.Body = body
	}
	for attempt := 1; ; attempt++ {
		batch, err := p.ActiveFor(r.Context(), stampedBytes(r, r.ContentLength))
		if err != nil {
			metrics.injections.WithLabelValues("unavailable").Inc()
			return h.writeNoBatch(w, err)
		}
		setInjectedBatch(r, batch.ID)
		counted := &countingReader{ReadCloser: r.Body}
		r.Body = counted

		last := attempt == 2
		// A buffered (rejected) attempt still wrote its headers into w's map: keep a copy
		// to start the retry clean.
		headerBefore := w.Header().Clone()
		rec := caddyhttp.NewResponseRecorder(w, new(bytes.Buffer), func(status int, _ http.Header) bool {
			return !last && batchRejected(status)
		})
		err = next.ServeHTTP(rec, r)
		r.Body = counted.ReadCloser
		if rec.Status() != 0 && batchRejected(rec.Status()) && rejectionNamesBatch(rec) {
			h.retireRejected(r, p, batch, rec.Status())
		}
		if !rec.Buffered() {
			h.countInjection(p, batch, rec.Status(), stampedBytes(r, counted.n), attempt, err)
			return err
		}
		if err != nil {
			return err
		}
		// Bee refused the batch. Send the body again, unless too much of it is gone.
		again := io.ReadCloser(http.NoBody)
		if body != nil {
			var ok bool
			if again, ok = body.replay(); !ok {
				metrics.injections.WithLabelValues("rejected").Inc()
				return rec.WriteResponse()
			}
		}
		r.Body = again
		clear(w.Header())
		maps.Copy(w.Header(), headerBefore)
		h.logger.Info("retrying upload with another batch", zap.Int("rejected_status", rec.Status()))
	}
}

func (h *Handler) countInjection(p *pool.Pool, batch pool.Batch, status int, n int64, attempt int, err error) {
	switch {
	case err == nil && status < 300:
		p.RecordUpload(batch.ID, n)
		result := "ok"
		if attempt > 1 {
			result = "retried"
		}
		metrics.injections.WithLabelValues(result).Inc()
	case batchRejected(status):
		metrics.injections.WithLabelValues("rejected").Inc()
	}
}

// batchRejected: Bee's answers when it refuses the batch of an upload.
func batchRejected(status int) bool {
	return status == http.StatusPaymentRequired || status == http.StatusNotFound || status == http.StatusUnprocessableEntity
}

// rejectionNamesBatch tells Bee's batch errors from other 404s by their message.
func rejectionNamesBatch(rec caddyhttp.ResponseRecorder) bool {
	if !rec.Buffered() {
		return true // streamed to the client already; trust the status
	}
	return strings.Contains(strings.ToLower(rec.Buffer().String()), "batch")
}

func (h *Handler) retireRejected(r *http.Request, p *pool.Pool, batch pool.Batch, status int) {
	reason := fmt.Sprintf("bee answered %d to an upload", status)
	// Detached from the request: the retirement must be recorded even if the client leaves.
	if err := p.Retire(context.WithoutCancel(r.Context()), batch.ID, reason); err != nil {
		h.logger.Error("retiring a rejected batch failed", zap.Int("depth", batch.Depth), zap.Error(err))
		return
	}
	h.logger.Warn("batch retired after bee rejected an upload", zap.Int("depth", batch.Depth), zap.Int("status", status))
}

func (h *Handler) writeNoBatch(w http.ResponseWriter, err error) error {
	var empty *pool.EmptyError
	retry := "60"
	if errors.As(err, &empty) {
		retry = retryAfterSeconds(empty.RetryAfter)
	}
	h.logger.Warn("upload refused: no usable postage batch", zap.Error(err))
	w.Header().Set("Retry-After", retry)
	return writeBeeError(w, http.StatusServiceUnavailable,
		"no usable postage batch in the gateway's pool right now ("+err.Error()+"); retry after "+retry+" seconds")
}

func setInjectedBatch(r *http.Request, id string) {
	r.Header.Set(batchHeader, id)
	r.Header.Del(pinHeader) // public pinning is free hosting
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(batchIDPlaceholder, id)
	}
}

type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}
