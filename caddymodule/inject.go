package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/replay"
)

const (
	batchHeader = "Swarm-Postage-Batch-Id"
	stampHeader = "Swarm-Postage-Stamp"
	pinHeader   = "Swarm-Pin"

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

// serveInjected uploads r with a pool batch. Bee's refusals (402, 404, 422) are held back
// until read: only one whose message names the batch, confirmed by Bee's own view of the
// batch, retires it, and then, if Bee had read no more than replay.Limit bytes of the body
// (and the upload holds a replay copy), the upload goes once more with another batch. Every
// other answer reaches the client as Bee gave it: an anonymous request can neither retire a
// batch nor make the pool buy one.
func (h *Handler) serveInjected(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	var body *injectedBody
	if r.Body != nil && r.Body != http.NoBody {
		body = h.newInjectedBody(w, r)
		defer body.release()
		var endUnread func()
		w, endUnread = guardUnreadBody(w, r, body)
		defer endUnread()
		// Bee may answer before the body is all in (a refusal checks the batch first). Without
		// full duplex, Go's HTTP/1 server would hold that answer back until it had read the
		// rest of the body, which the proxy's transport may be waiting on: a client stalled
		// mid-body would then never get it. (HTTP/2 is full duplex already: error ignored.)
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	tried := map[*beeNode]bool{}
	node, batch, err := h.injectionBatch(r, tried, canReplay(r, body))
	batchRetried := false
	for attempt := 1; ; attempt++ {
		if err != nil {
			metrics.injections.WithLabelValues("unavailable").Inc()
			return h.writeNoBatch(w, err)
		}
		p := node.pool
		setInjectedBatch(r, batch.ID)
		if h.multiNode() {
			routeTo(r, node)
		}
		counted := &countingReader{ReadCloser: r.Body}
		r.Body = counted

		// A buffered (refused) attempt still wrote its headers into w's map: keep a copy
		// to start the retry clean.
		headerBefore := w.Header().Clone()
		// Refusals are small JSON bodies: hold them back, on every attempt, to read them.
		// With several nodes a node's failure is held back too: another node may take it.
		rec := caddyhttp.NewResponseRecorder(w, new(bytes.Buffer), func(status int, _ http.Header) bool {
			return mayRefuseBatch(status) || h.multiNode() && nodeFailed(status)
		})
		err = next.ServeHTTP(rec, r)
		r.Body = counted.ReadCloser
		if body != nil && body.endedIdle() {
			return h.endIdleUpload(rec, err)
		}
		if !rec.Buffered() {
			h.countInjection(p, batch, rec.Status(), stampedBytes(r, counted.n), attempt, err)
			return err
		}
		if h.multiNode() && (err != nil && rec.Status() == 0 || nodeFailed(rec.Status())) {
			// The node is down, syncing or failing uploads: avoid it for a while and send
			// the upload once more to another node, with that node's batch.
			node.avoid(time.Now())
			tried[node] = true
			h.logger.Warn("bee node failed an injected upload; trying another node",
				zap.String("node", node.label), zap.Int("status", rec.Status()), zap.Error(err))
			nextNode, nextBatch, perr := h.injectionBatch(r, tried, false) // a body replays once
			if perr == nil {
				if again, ok := h.replayBody(r, body); ok {
					metrics.injections.WithLabelValues("node_failed").Inc()
					r.Body = again
					clear(w.Header())
					maps.Copy(w.Header(), headerBefore)
					node, batch, err = nextNode, nextBatch, nil
					continue
				}
			}
			if err != nil {
				return err
			}
			return rec.WriteResponse()
		}
		if err != nil {
			return err
		}
		refusal := h.batchRefusalConfirmed(r, p, batch, rec)
		if batchRetried || refusal == pool.RefusalKept {
			return rec.WriteResponse()
		}
		avoid := "" // a batch that refused this upload with a bucket overflow but stays in service
		if refusal == pool.RefusalOverflow {
			avoid = batch.ID
		}
		// Bee refused the batch. Send the body again, unless too much of it is gone.
		again, ok := h.replayBody(r, body)
		if !ok {
			return rec.WriteResponse()
		}
		batchRetried = true
		r.Body = again
		clear(w.Header())
		maps.Copy(w.Header(), headerBefore)
		h.logger.Info("retrying upload with another batch", zap.Int("rejected_status", rec.Status()))
		batch, err = p.ActiveForUpload(r.Context(), stampedBytes(r, r.ContentLength), false, avoid) // the last attempt
	}
}

// canReplay: whether the upload's first attempt can go again after Bee's 402 (no body, or a
// body of known length within replay.Limit that holds a replay copy). One that cannot is
// given only a batch it would not overflow (pool.ActiveForUpload).
func canReplay(r *http.Request, body *injectedBody) bool {
	return body == nil || r.ContentLength >= 0 && r.ContentLength <= replay.Limit && !body.NoRoom()
}

// replayBody returns the upload's body to send again: nothing to send for an upload
// without a body, and not ok when too much of it is gone.
func (h *Handler) replayBody(r *http.Request, body *injectedBody) (io.ReadCloser, bool) {
	if body == nil {
		return http.NoBody, true
	}
	return replayWithin(r.Context(), body, replayWait)
}

// nodeFailed: the statuses with which a node fails an upload for its own reasons (down
// behind a proxy, syncing, failing), not the upload's.
func nodeFailed(status int) bool {
	return status == http.StatusInternalServerError || status == http.StatusBadGateway ||
		status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// injectionBatch picks the node and batch for an injected upload. With one node it is that
// node's active batch. With several, the uploads spread round robin over the nodes not in
// skip whose pool has a usable batch, healthy nodes first (Caddy's health checks and the
// handler's own record of failed uploads); an unhealthy node is tried only when no healthy
// one can take the upload.
func (h *Handler) injectionBatch(r *http.Request, skip map[*beeNode]bool, replayable bool) (*beeNode, pool.Batch, error) {
	size := stampedBytes(r, r.ContentLength)
	if !h.multiNode() {
		n := h.nodes[0]
		b, err := n.pool.ActiveForUpload(r.Context(), size, replayable, "")
		return n, b, err
	}
	now := time.Now()
	start := int(h.spread.Add(1) % uint64(len(h.nodes)))
	var firstErr error
	for _, healthy := range []bool{true, false} {
		for i := range h.nodes {
			n := h.nodes[(start+i)%len(h.nodes)]
			if n.pool == nil || skip[n] || n.usable(now) != healthy || !n.pool.HasUsable() {
				continue
			}
			b, err := n.pool.ActiveForUpload(r.Context(), size, replayable, "")
			if err == nil {
				return n, b, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if firstErr != nil {
		return nil, pool.Batch{}, firstErr
	}
	return nil, pool.Batch{}, errNoNode
}

var errNoNode = errors.New("no Bee node has a usable batch")

// replayWait bounds how long a retry waits for the first attempt's read of the client's
// body to return: a client stalled mid-body gets Bee's refusal instead of a hung request.
var replayWait = 10 * time.Second

// replayWithin is body.replay(), given up after d or when ctx ends. A replay that completes
// after that finds the body released and hands out nothing.
func replayWithin(ctx context.Context, body *injectedBody, d time.Duration) (io.ReadCloser, bool) {
	type replayed struct {
		rc io.ReadCloser
		ok bool
	}
	done := make(chan replayed, 1)
	go func() {
		rc, ok := body.replay()
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

func (h *Handler) countInjection(p *pool.Pool, batch pool.Batch, status int, n int64, attempt int, err error) {
	if err == nil && status < 300 {
		p.RecordUpload(batch.ID, n)
		result := "ok"
		if attempt > 1 {
			result = "retried"
		}
		metrics.injections.WithLabelValues(result).Inc()
	}
}

// mayRefuseBatch: the statuses Bee uses when it refuses the batch of an upload (and, with
// other messages, for other refusals: an unknown tag, an ACT history not found).
func mayRefuseBatch(status int) bool {
	return status == http.StatusPaymentRequired || status == http.StatusNotFound || status == http.StatusUnprocessableEntity
}

// batchRefusalConfirmed reports whether the held-back answer in rec is Bee refusing the
// injected batch, confirmed by GET /stamps/{id}: the batch is then retired, or, for a bucket
// overflow of a batch with room left, kept for other uploads. Either way the upload may go
// again elsewhere. Anything else is the upload's own failure (counted and logged sampled)
// and leaves the pool alone (RefusalKept).
func (h *Handler) batchRefusalConfirmed(r *http.Request, p *pool.Pool, batch pool.Batch, rec caddyhttp.ResponseRecorder) pool.Refusal {
	status, answer := rec.Status(), rec.Buffer().Bytes()
	if !pool.RejectsBatch(status, answer) {
		metrics.injections.WithLabelValues("refused").Inc()
		refusedUploadLog.warn(h.logger, "bee refused an injected upload for a reason other than its batch; answer passed on",
			zap.Int("status", status), zap.ByteString("answer", answer[:min(len(answer), 200)]))
		return pool.RefusalKept
	}
	metrics.injections.WithLabelValues("rejected").Inc()
	refusal, err := p.ConfirmRefusal(r.Context(), batch.ID, status, rejectionMessage(answer))
	if err != nil {
		h.logger.Error("could not confirm bee's refusal of a pool batch; batch kept", zap.Int("depth", batch.Depth), zap.Error(err))
		return pool.RefusalKept
	}
	return refusal
}

func rejectionMessage(answer []byte) string {
	var envelope struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(answer, &envelope)
	return envelope.Message
}

func (h *Handler) writeNoBatch(w http.ResponseWriter, err error) error {
	var empty *pool.EmptyError
	var retry string
	switch {
	case errors.As(err, &empty):
		retry = retryAfterSeconds(empty.RetryAfter)
	case errors.Is(err, pool.ErrLedgerBusy):
		retry = "5"
	default:
		retry = retryAfterSeconds(h.retryAfter(0))
	}
	refusedUploadLog.warn(h.logger, "upload refused: no usable postage batch", zap.Error(err))
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
