package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
)

// batchRejections are Bee's upload answers about the batch itself (docs/bee-api.md), by status.
// Any other answer (an unknown Swarm-Tag, an ACT history not found, a 5xx) says nothing
// about the batch.
var batchRejections = map[int]string{
	402: "batch is overissued",
	404: "batch with id not found",
	422: "batch not usable yet or does not exist",
}

// RejectsBatch reports whether an upload answer (status and Bee's JSON error body) is Bee
// refusing the upload's batch: the status and its exact message must match.
func RejectsBatch(status int, body []byte) bool {
	want, ok := batchRejections[status]
	if !ok {
		return false
	}
	var envelope struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &envelope) != nil {
		return false
	}
	return strings.EqualFold(strings.TrimSpace(envelope.Message), want)
}

// rejectionCheck is the outcome of one confirmation, reused for rejectionRecheck so that a
// flood of answers naming the batch cannot become a flood of lookups.
type rejectionCheck struct {
	at      time.Time
	outcome Refusal
}

// Refusal is what a confirmed batch refusal means for the upload and the batch.
type Refusal int

const (
	// RefusalKept: Bee reports the batch usable; the refusal is passed on, the batch stays.
	RefusalKept Refusal = iota
	// RefusalRetired: the batch is unusable and retired; the upload may go again.
	RefusalRetired
	// RefusalOverflow: Bee's 402 on a batch whose effective capacity is far from used (one
	// bucket overflowed, the others have room). The batch stays for other uploads; this one
	// must go again to another batch (ActiveForExcept): its chunks land in the same buckets.
	RefusalOverflow
)

const (
	rejectionRecheck = 5 * time.Second
	rejectionTimeout = 15 * time.Second
)

// ConfirmRejection is called after Bee answered an upload with a message naming the pool
// batch id (see RejectsBatch). It asks Bee about the batch (GET /stamps/{id}) and retires it
// only when Bee confirms it is unusable: unknown (404), not usable, full or expired. The
// lookups of concurrent callers for one batch are shared. It reports whether the batch is
// retired now; an error means Bee could not confirm, and the batch stays.
func (p *Pool) ConfirmRejection(ctx context.Context, id string, status int, message string) (bool, error) {
	outcome, err := p.ConfirmRefusal(ctx, id, status, message)
	return outcome == RefusalRetired, err
}

// ConfirmRefusal is ConfirmRejection telling apart a 402 that only one bucket overflowed
// (RefusalOverflow, with the pool's fill model): the batch is kept until its effective
// capacity is used, and the upload goes to another batch.
func (p *Pool) ConfirmRefusal(ctx context.Context, id string, status int, message string) (Refusal, error) {
	now := p.deps.Clock.Now()
	// Per batch and status: a 402 after a 404 that Bee did not confirm gets its own lookup.
	key := id + "/" + strconv.Itoa(status)
	p.mu.RLock()
	c, ok := p.rejectChecks[key]
	p.mu.RUnlock()
	if ok && now.Sub(c.at) < rejectionRecheck {
		return c.outcome, nil
	}
	// Detached: the lookup and the retirement are shared and must outlive any one request.
	v, err, _ := p.confirm.Do(key, func() (any, error) {
		lookupCtx, cancel := p.withTimeout(context.WithoutCancel(ctx), rejectionTimeout)
		defer cancel()
		why, bad, full, err := p.batchUnusable(lookupCtx, id)
		if err != nil {
			return RefusalKept, fmt.Errorf("confirm bee's %d %q for a pool batch: %w", status, message, err)
		}
		outcome := RefusalKept
		if full && status == 402 {
			// A full bucket is not a full batch: the fill model decides, on fresh buckets.
			if capWhy, tracked := p.overflowRetireDue(lookupCtx, id); tracked {
				bad, why = capWhy != "", capWhy
				if !bad {
					outcome = RefusalOverflow
					p.deps.Logger.Info("bee's 402: a bucket of an active batch overflowed; batch kept for uploads that fit, upload sent to another",
						zap.String("batch_id", id))
				}
			}
		}
		if bad {
			outcome = RefusalRetired
			reason := fmt.Sprintf("bee answered %d %q to an upload; GET /stamps confirmed: %s", status, message, why)
			if err := p.Retire(lookupCtx, id, reason); err != nil {
				return RefusalKept, err
			}
		} else if outcome == RefusalKept {
			p.deps.Logger.Warn("bee named a pool batch in an upload refusal but reports it usable; batch kept",
				zap.Int("status", status), zap.String("message", message))
		}
		p.mu.Lock()
		for k, old := range p.rejectChecks {
			if now.Sub(old.at) >= rejectionRecheck {
				delete(p.rejectChecks, k)
			}
		}
		p.rejectChecks[key] = rejectionCheck{at: p.deps.Clock.Now(), outcome: outcome}
		p.mu.Unlock()
		return outcome, nil
	})
	if err != nil {
		return RefusalKept, err
	}
	return v.(Refusal), nil
}

// batchUnusable asks Bee whether batch id can still take uploads; why says what is wrong,
// and full whether it is only that its fullest bucket is (nearly) full.
func (p *Pool) batchUnusable(ctx context.Context, id string) (why string, bad, full bool, err error) {
	s, err := p.deps.Bee.Stamp(ctx, id)
	switch {
	case errors.Is(err, bee.ErrNotFound):
		return "404, Bee does not know the batch", true, false, nil
	case errors.Is(err, bee.ErrNotUsable):
		return "not usable", true, false, nil
	case err != nil:
		return "", false, false, err
	case !s.Usable:
		return "usable:false", true, false, nil
	case s.BatchTTL == 0:
		return "expired (batchTTL 0)", true, false, nil
	case s.UtilizationRatio >= 1 || s.UtilizationRatio >= p.config().UsageMax:
		return fmt.Sprintf("full (utilization %.2f)", s.UtilizationRatio), true, true, nil
	}
	return "", false, false, nil
}
