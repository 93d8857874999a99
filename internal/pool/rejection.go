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

// batchRejections are Bee's upload answers about the batch itself (BEE_API.md), by status.
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
	retired bool
}

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
	now := p.deps.Clock.Now()
	// Per batch and status: a 402 after a 404 that Bee did not confirm gets its own lookup.
	key := id + "/" + strconv.Itoa(status)
	p.mu.RLock()
	c, ok := p.rejectChecks[key]
	p.mu.RUnlock()
	if ok && now.Sub(c.at) < rejectionRecheck {
		return c.retired, nil
	}
	// Detached: the lookup and the retirement are shared and must outlive any one request.
	v, err, _ := p.confirm.Do(key, func() (any, error) {
		lookupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rejectionTimeout)
		defer cancel()
		why, bad, err := p.batchUnusable(lookupCtx, id)
		if err != nil {
			return false, fmt.Errorf("confirm bee's %d %q for a pool batch: %w", status, message, err)
		}
		if bad {
			reason := fmt.Sprintf("bee answered %d %q to an upload; GET /stamps confirmed: %s", status, message, why)
			if err := p.Retire(lookupCtx, id, reason); err != nil {
				return false, err
			}
		} else {
			p.deps.Logger.Warn("bee named a pool batch in an upload refusal but reports it usable; batch kept",
				zap.Int("status", status), zap.String("message", message))
		}
		p.mu.Lock()
		for k, old := range p.rejectChecks {
			if now.Sub(old.at) >= rejectionRecheck {
				delete(p.rejectChecks, k)
			}
		}
		p.rejectChecks[key] = rejectionCheck{at: p.deps.Clock.Now(), retired: bad}
		p.mu.Unlock()
		return bad, nil
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// batchUnusable asks Bee whether batch id can still take uploads; why says what is wrong.
func (p *Pool) batchUnusable(ctx context.Context, id string) (why string, bad bool, err error) {
	s, err := p.deps.Bee.Stamp(ctx, id)
	switch {
	case errors.Is(err, bee.ErrNotFound):
		return "404, Bee does not know the batch", true, nil
	case errors.Is(err, bee.ErrNotUsable):
		return "not usable", true, nil
	case err != nil:
		return "", false, err
	case !s.Usable:
		return "usable:false", true, nil
	case s.BatchTTL == 0:
		return "expired (batchTTL 0)", true, nil
	case s.UtilizationRatio >= 1 || s.UtilizationRatio >= p.config().UsageMax:
		return fmt.Sprintf("full (utilization %.2f)", s.UtilizationRatio), true, nil
	}
	return "", false, nil
}
