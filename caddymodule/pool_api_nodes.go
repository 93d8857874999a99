package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// nodeStatusBody is one node's part of /pool/status, under "nodes" by label.
type nodeStatusBody struct {
	Enabled           bool                       `json:"enabled"`
	Available         bool                       `json:"available"` // Caddy's health checks and failed uploads
	ReserveConfig     map[string]int             `json:"reserve_config"`
	CurrentLevels     map[string]int             `json:"current_levels"`
	Pending           map[string]int             `json:"pending"`
	Active            map[string]activeBatchBody `json:"active"`
	LowReserveWarning bool                       `json:"low_reserve_warning"`
	PurchasesLastHour int                        `json:"purchases_last_hour"`
	Errors            []string                   `json:"errors"`
}

// poolStatusNodesBody is /pool/status of a gateway in front of several nodes: the
// swarm_connect shape as totals over the nodes, plus each node's own.
type poolStatusNodesBody struct {
	poolStatusBody
	Nodes map[string]nodeStatusBody `json:"nodes"`
}

func (h *Handler) servePoolStatusNodes(w http.ResponseWriter, r *http.Request) error {
	body := poolStatusNodesBody{
		poolStatusBody: poolStatusBody{
			ReserveConfig: map[string]int{}, CurrentLevels: map[string]int{}, Pending: map[string]int{},
			Active: map[string]activeBatchBody{}, Errors: []string{},
		},
		Nodes: map[string]nodeStatusBody{},
	}
	withIDs := h.authorized(r)
	now := time.Now()
	for _, n := range h.nodes {
		nb := nodeStatusBody{Available: n.usable(now), ReserveConfig: map[string]int{}, CurrentLevels: map[string]int{},
			Pending: map[string]int{}, Active: map[string]activeBatchBody{}, Errors: []string{}}
		if n.pool == nil {
			body.Nodes[n.label] = nb
			continue
		}
		st := n.pool.Status()
		nb.Enabled, body.Enabled = true, true
		addLevels(nb.ReserveConfig, body.ReserveConfig, st.ReserveConfig)
		addLevels(nb.CurrentLevels, body.CurrentLevels, st.CurrentLevels)
		addLevels(nb.Pending, body.Pending, st.Pending)
		for depth, a := range st.Active {
			entry := activeBatchBody{UtilizationRatio: a.UtilizationRatio, TTLSeconds: a.TTLSeconds}
			if withIDs {
				entry.BatchID = a.BatchID
			}
			key := strconv.Itoa(depth)
			nb.Active[key] = entry
			// The total shows the fullest active batch of the depth: the next to be retired.
			if cur, ok := body.Active[key]; !ok || entry.UtilizationRatio > cur.UtilizationRatio {
				body.Active[key] = entry
			}
		}
		nb.LowReserveWarning = st.LowReserveWarning
		nb.PurchasesLastHour = st.PurchasesLastHour
		body.PurchasesLastHour += st.PurchasesLastHour
		nb.Errors = append(nb.Errors, st.Errors...)
		for _, e := range st.Errors {
			body.Errors = append(body.Errors, "node "+n.label+": "+e)
		}
		if !nb.Available {
			body.Errors = append(body.Errors, "node "+n.label+": unavailable (health checks or failed uploads); uploads go to the other nodes")
		}
		if !st.LastCheck.IsZero() && (body.LastCheck == nil || st.LastCheck.After(*body.LastCheck)) {
			body.LastCheck = &st.LastCheck
		}
		if !st.NextCheck.IsZero() && (body.NextCheck == nil || st.NextCheck.Before(*body.NextCheck)) {
			body.NextCheck = &st.NextCheck
		}
		body.Nodes[n.label] = nb
	}
	for depth, want := range body.ReserveConfig {
		if body.CurrentLevels[depth] < want {
			body.LowReserveWarning = true
		}
	}
	return writeJSON(w, http.StatusOK, body)
}

func addLevels(node, total map[string]int, levels map[int]int) {
	for depth, n := range levels {
		key := strconv.Itoa(depth)
		node[key] = n
		total[key] += n
	}
}

// acquireFromNodes issues a batch of depth from the node with the most of them in reserve
// (healthy nodes first), then, with fallback, a larger depth from any node. It returns the
// first node's error when no node can.
func (h *Handler) acquireFromNodes(ctx context.Context, depth int, fallback bool) (*beeNode, pool.Batch, bool, error) {
	if !h.multiNode() {
		n := h.nodes[0]
		b, used, err := n.pool.Acquire(ctx, depth, fallback)
		return n, b, used, err
	}
	now := time.Now()
	type candidate struct {
		node    *beeNode
		healthy bool
		level   int
	}
	var cands []candidate
	for _, n := range h.nodes {
		if n.pool == nil {
			continue
		}
		cands = append(cands, candidate{n, n.usable(now), n.pool.Status().CurrentLevels[depth]})
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
			b, used, err := c.node.pool.Acquire(ctx, depth, withFallback)
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

// retryAfter estimates when a batch of depth (0: any) will be usable on some node.
func (h *Handler) retryAfter(depth int) time.Duration {
	best := time.Duration(-1)
	for _, n := range h.nodes {
		if n.pool == nil {
			continue
		}
		if d := n.pool.RetryAfter(depth); best < 0 || d < best {
			best = d
		}
	}
	return max(best, time.Second)
}

// hasUsable reports whether some node can take an injected upload now.
func (h *Handler) hasUsable() bool {
	now := time.Now()
	for _, n := range h.nodes {
		if n.pool != nil && n.pool.HasUsable() && (!h.multiNode() || n.usable(now)) {
			return true
		}
	}
	return false
}
