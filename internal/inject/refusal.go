package inject

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// nodeFailed: the statuses with which a node fails an upload for its own reasons (down
// behind a proxy, syncing, failing), not the upload's.
func nodeFailed(status int) bool {
	return status == http.StatusInternalServerError || status == http.StatusBadGateway ||
		status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// mayRefuseBatch: the statuses Bee uses when it refuses the batch of an upload (and, with
// other messages, for other refusals: an unknown tag, an ACT history not found).
func mayRefuseBatch(status int) bool {
	return status == http.StatusPaymentRequired || status == http.StatusNotFound || status == http.StatusUnprocessableEntity
}

// confirmRefusal reports whether the held-back answer in rec is Bee refusing the injected
// batch, confirmed by GET /stamps/{id}: the batch is then retired, or, for a bucket overflow
// of a batch with room left, kept for other uploads. Either way the upload may go again
// elsewhere. Anything else is the upload's own failure (counted and logged sampled) and
// leaves the pool alone (RefusalKept).
func (in *Injector) confirmRefusal(r *http.Request, p *pool.Pool, batch pool.Batch, rec Recorder) pool.Refusal {
	status, answer := rec.Status(), rec.Buffer().Bytes()
	if !pool.RejectsBatch(status, answer) {
		in.Observer.Injection("refused")
		refusedUploadLog.warn(in.Logger, "bee refused an injected upload for a reason other than its batch; answer passed on",
			zap.Int("status", status), zap.ByteString("answer", answer[:min(len(answer), 200)]))
		return pool.RefusalKept
	}
	in.Observer.Injection("rejected")
	refusal, err := p.ConfirmRefusal(r.Context(), batch.ID, status, beeerror.Message(answer))
	if err != nil {
		in.Logger.Error("could not confirm bee's refusal of a pool batch; batch kept", zap.Int("depth", batch.Depth), zap.Error(err))
		return pool.RefusalKept
	}
	return refusal
}

// writeNoBatch answers an upload no batch can take with 503 and when to retry.
func (in *Injector) writeNoBatch(w http.ResponseWriter, err error) error {
	var empty *pool.EmptyError
	var retry string
	switch {
	case errors.As(err, &empty):
		retry = beeerror.RetryAfterSeconds(empty.RetryAfter)
	case errors.Is(err, pool.ErrLedgerBusy):
		retry = "5"
	default:
		retry = beeerror.RetryAfterSeconds(in.RetryAfter())
	}
	refusedUploadLog.warn(in.Logger, "upload refused: no usable postage batch", zap.Error(err))
	w.Header().Set("Retry-After", retry)
	return beeerror.Write(w, http.StatusServiceUnavailable,
		"no usable postage batch in the gateway's pool right now ("+err.Error()+"); retry after "+retry+" seconds")
}
