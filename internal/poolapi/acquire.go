package poolapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// AcquireRequest is POST /pool/acquire's body: a size name or a depth (default: small).
type AcquireRequest struct {
	Size  *string `json:"size"`
	Depth *int    `json:"depth"`
}

// AcquireResponse is POST /pool/acquire's answer, in swarm_connect's shape.
type AcquireResponse struct {
	Success      bool   `json:"success"`
	BatchID      string `json:"batch_id"`
	Depth        int    `json:"depth"`
	SizeName     string `json:"size_name"`
	Message      string `json:"message"`
	FallbackUsed bool   `json:"fallback_used"`
	// Node is the label of the node the batch stamps on, with several nodes.
	Node string `json:"node,omitempty"`
}

func (a *API) serveAcquire(w http.ResponseWriter, r *http.Request) error {
	var req AcquireRequest
	if status, err := readAPIBody(w, r, &req); err != nil {
		return beeerror.WriteDetail(w, status, err.Error())
	}
	depth := pool.SmallDepth
	switch {
	case req.Size != nil && req.Depth != nil:
		return beeerror.WriteDetail(w, http.StatusUnprocessableEntity, `give either "size" or "depth", not both`)
	case req.Size != nil:
		d, ok := pool.SizeDepth(*req.Size)
		if !ok {
			return beeerror.WriteDetail(w, http.StatusUnprocessableEntity, fmt.Sprintf("unknown size %q: want small, medium or large", *req.Size))
		}
		depth = d
	case req.Depth != nil:
		depth = *req.Depth
	}
	node, batch, fallbackUsed, err := a.acquireFromNodes(r.Context(), depth, a.Fallback)
	if err != nil {
		return a.writeAcquireError(w, depth, err)
	}
	a.Logger.Info("batch acquired", zap.Int("depth", batch.Depth), zap.Bool("fallback", fallbackUsed))
	msg := fmt.Sprintf("batch of depth %d issued; it is yours alone and will not be topped up by the pool", batch.Depth)
	if fallbackUsed {
		msg = fmt.Sprintf("no depth-%d batch was in reserve; issued a larger one (depth %d)", depth, batch.Depth)
	}
	return beeerror.WriteJSON(w, http.StatusOK, AcquireResponse{
		Success: true, BatchID: batch.ID, Depth: batch.Depth, SizeName: pool.SizeName(batch.Depth),
		Message: msg, FallbackUsed: fallbackUsed, Node: node.Label,
	})
}

func (a *API) writeAcquireError(w http.ResponseWriter, depth int, err error) error {
	var empty *pool.EmptyError
	switch {
	case errors.Is(err, pool.ErrNotConfigured):
		return beeerror.WriteDetail(w, http.StatusUnprocessableEntity,
			fmt.Sprintf("depth %d is not kept by this pool: ask for one of %s", depth, a.Sizes))
	case errors.As(err, &empty):
		w.Header().Set("Retry-After", beeerror.RetryAfterSeconds(empty.RetryAfter))
		suggestion := fmt.Sprintf("retry after %s seconds; a replacement is being bought", beeerror.RetryAfterSeconds(empty.RetryAfter))
		if empty.Cause != "" {
			suggestion = fmt.Sprintf("retry after %s seconds: purchases are blocked (%s)", beeerror.RetryAfterSeconds(empty.RetryAfter), empty.Cause)
		}
		return beeerror.WriteDetail(w, http.StatusConflict, map[string]string{
			"message":    fmt.Sprintf("no batch of depth %d is in reserve right now", depth),
			"suggestion": suggestion,
		})
	case errors.Is(err, pool.ErrLedgerBusy):
		// Another instance holds the ledger (or a dead one, until taken over): short retry.
		a.Logger.Warn("acquire refused: pool ledger busy", zap.Int("depth", depth), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		return beeerror.WriteDetail(w, http.StatusServiceUnavailable, "the pool's ledger is busy (held by another gateway sharing the storage): "+err.Error())
	default:
		a.Logger.Error("acquire failed", zap.Int("depth", depth), zap.Error(err))
		w.Header().Set("Retry-After", beeerror.RetryAfterSeconds(a.RetryAfter(depth)))
		return beeerror.WriteDetail(w, http.StatusServiceUnavailable, "the pool cannot hand out batches right now: "+err.Error())
	}
}

func (a *API) serveAvailable(w http.ResponseWriter, r *http.Request) error {
	type availableBatch struct {
		BatchID    string    `json:"batch_id"`
		Depth      int       `json:"depth"`
		SizeName   string    `json:"size_name"`
		TTLSeconds int64     `json:"ttl_seconds"`
		CreatedAt  time.Time `json:"created_at"`
		Node       string    `json:"node,omitempty"`
	}
	out := []availableBatch{}
	for _, n := range a.Nodes {
		if n.Pool == nil {
			continue
		}
		for _, b := range n.Pool.Available() {
			out = append(out, availableBatch{BatchID: b.ID, Depth: b.Depth, SizeName: pool.SizeName(b.Depth),
				TTLSeconds: int64(b.TTL / time.Second), CreatedAt: b.CreatedAt, Node: n.Label})
		}
	}
	return beeerror.WriteJSON(w, http.StatusOK, out)
}

func (a *API) serveCheck(w http.ResponseWriter, r *http.Request) error {
	var at time.Time
	for _, n := range a.Nodes {
		if n.Pool != nil {
			at = n.Pool.TriggerCheck()
		}
	}
	return beeerror.WriteJSON(w, http.StatusAccepted, map[string]string{
		"scheduled_at": at.UTC().Format(time.RFC3339),
		"message":      "maintenance scheduled: sync with Bee, top-ups and purchases for any shortfall run in the background",
	})
}

// acquireFromNodes issues a batch of depth from the node with the most of them in reserve
// (healthy nodes first), then, with fallback, a larger depth from any node. It returns the
// first node's error when no node can.
func (a *API) acquireFromNodes(ctx context.Context, depth int, fallback bool) (*Node, pool.Batch, bool, error) {
	if !a.MultiNode {
		n := &a.Nodes[0]
		b, used, err := n.Pool.Acquire(ctx, depth, fallback)
		return n, b, used, err
	}
	now := time.Now()
	type candidate struct {
		node    *Node
		healthy bool
		level   int
	}
	var cands []candidate
	for i := range a.Nodes {
		n := &a.Nodes[i]
		if n.Pool == nil {
			continue
		}
		cands = append(cands, candidate{n, n.Usable(now), n.Pool.Status().CurrentLevels[depth]})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].healthy != cands[j].healthy {
			return cands[i].healthy
		}
		return cands[i].level > cands[j].level
	})
	var firstErr error
	for _, withFallback := range []bool{false, true} {
		if withFallback && !fallback {
			break
		}
		for _, c := range cands {
			b, used, err := c.node.Pool.Acquire(ctx, depth, withFallback)
			if err == nil {
				return c.node, b, used, nil
			}
			if firstErr == nil || errors.Is(firstErr, pool.ErrNotConfigured) {
				firstErr = err
			}
		}
	}
	if firstErr == nil {
		firstErr = pool.ErrNotConfigured
	}
	return nil, pool.Batch{}, false, firstErr
}

// RetryAfter estimates when a batch of depth (0: any) will be usable on some node.
func (a *API) RetryAfter(depth int) time.Duration {
	best := time.Duration(-1)
	for _, n := range a.Nodes {
		if n.Pool == nil {
			continue
		}
		if d := n.Pool.RetryAfter(depth); best < 0 || d < best {
			best = d
		}
	}
	return max(best, time.Second)
}

// HasUsable reports whether some node can take an injected upload now.
func (a *API) HasUsable() bool {
	now := time.Now()
	for _, n := range a.Nodes {
		if n.Pool != nil && n.Pool.HasUsable() && (!a.MultiNode || n.Usable(now)) {
			return true
		}
	}
	return false
}

// anyPool reports whether some node keeps a pool.
func (a *API) anyPool() bool {
	for _, n := range a.Nodes {
		if n.Pool != nil {
			return true
		}
	}
	return false
}

// SizesText names the depths of reserve, smallest first, for the answer to a depth the pool
// does not keep: `"small" or depth 17, depth 19`.
func SizesText(reserve map[int]int) string {
	depths := make([]int, 0, len(reserve))
	for d := range reserve {
		depths = append(depths, d)
	}
	sort.Ints(depths)
	names := make([]string, len(depths))
	for i, d := range depths {
		names[i] = fmt.Sprintf("depth %d", d)
		if name := pool.SizeName(d); name != "" {
			names[i] = fmt.Sprintf("%q or depth %d", name, d)
		}
	}
	return strings.Join(names, ", ")
}
