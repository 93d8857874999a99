package poolapi

import (
	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"net/http"
	"strconv"
	"time"
)

// Status is GET /pool/status, in swarm_connect's shape. Depth keys are strings.
type Status struct {
	Enabled           bool                   `json:"enabled"`
	ReserveConfig     map[string]int         `json:"reserve_config"`
	CurrentLevels     map[string]int         `json:"current_levels"`
	Pending           map[string]int         `json:"pending"`
	Active            map[string]ActiveBatch `json:"active"`
	LowReserveWarning bool                   `json:"low_reserve_warning"`
	LastCheck         *time.Time             `json:"last_check"`
	NextCheck         *time.Time             `json:"next_check"`
	PurchasesLastHour int                    `json:"purchases_last_hour"`
	Errors            []string               `json:"errors"`
	SpendStatus
}

// ActiveBatch is an active batch of /pool/status; its id only with the admin token.
type ActiveBatch struct {
	UtilizationRatio float64 `json:"utilization_ratio"`
	TTLSeconds       int64   `json:"ttl_seconds"`
	BatchID          string  `json:"batch_id,omitempty"`
	ActiveFill
}

// serveStatus is GET /pool/status; batch ids only with the admin token.
func (a *API) serveStatus(w http.ResponseWriter, r *http.Request) error {
	if a.MultiNode {
		return a.serveStatusNodes(w, r)
	}
	body := Status{
		ReserveConfig: map[string]int{}, CurrentLevels: map[string]int{}, Pending: map[string]int{},
		Active: map[string]ActiveBatch{}, Errors: []string{},
	}
	if len(a.Nodes) == 0 || a.Nodes[0].Pool == nil {
		return beeerror.WriteJSON(w, http.StatusOK, body)
	}
	st := a.Nodes[0].Pool.Status()
	withIDs := a.authorized(r)
	body.Enabled = true
	for depth, n := range st.ReserveConfig {
		body.ReserveConfig[strconv.Itoa(depth)] = n
	}
	for depth, n := range st.CurrentLevels {
		body.CurrentLevels[strconv.Itoa(depth)] = n
	}
	for depth, n := range st.Pending {
		body.Pending[strconv.Itoa(depth)] = n
	}
	for depth, a := range st.Active {
		entry := ActiveBatch{UtilizationRatio: a.UtilizationRatio, TTLSeconds: a.TTLSeconds, ActiveFill: fillFields(a)}
		if withIDs {
			entry.BatchID = a.BatchID
		}
		body.Active[strconv.Itoa(depth)] = entry
	}
	body.LowReserveWarning = st.LowReserveWarning
	if !st.LastCheck.IsZero() {
		body.LastCheck = &st.LastCheck
	}
	if !st.NextCheck.IsZero() {
		body.NextCheck = &st.NextCheck
	}
	body.PurchasesLastHour = st.PurchasesLastHour
	body.Errors = append(body.Errors, st.Errors...)
	body.SpendStatus = spendFields(st, withIDs)
	return beeerror.WriteJSON(w, http.StatusOK, body)
}

// NodeStatus is one node's part of /pool/status, under "nodes" by label.
type NodeStatus struct {
	Enabled           bool                   `json:"enabled"`
	Available         bool                   `json:"available"` // Caddy's health checks and failed uploads
	ReserveConfig     map[string]int         `json:"reserve_config"`
	CurrentLevels     map[string]int         `json:"current_levels"`
	Pending           map[string]int         `json:"pending"`
	Active            map[string]ActiveBatch `json:"active"`
	LowReserveWarning bool                   `json:"low_reserve_warning"`
	PurchasesLastHour int                    `json:"purchases_last_hour"`
	Errors            []string               `json:"errors"`
}

// NodesStatus is /pool/status of a gateway in front of several nodes: the
// swarm_connect shape as totals over the nodes, plus each node's own.
type NodesStatus struct {
	Status
	Nodes map[string]NodeStatus `json:"nodes"`
}

func (a *API) serveStatusNodes(w http.ResponseWriter, r *http.Request) error {
	body := NodesStatus{
		Status: Status{
			ReserveConfig: map[string]int{}, CurrentLevels: map[string]int{}, Pending: map[string]int{},
			Active: map[string]ActiveBatch{}, Errors: []string{},
		},
		Nodes: map[string]NodeStatus{},
	}
	withIDs := a.authorized(r)
	now := time.Now()
	for _, n := range a.Nodes {
		nb := NodeStatus{Available: n.Usable(now), ReserveConfig: map[string]int{}, CurrentLevels: map[string]int{},
			Pending: map[string]int{}, Active: map[string]ActiveBatch{}, Errors: []string{}}
		if n.Pool == nil {
			body.Nodes[n.Label] = nb
			continue
		}
		st := n.Pool.Status()
		nb.Enabled, body.Enabled = true, true
		addLevels(nb.ReserveConfig, body.ReserveConfig, st.ReserveConfig)
		addLevels(nb.CurrentLevels, body.CurrentLevels, st.CurrentLevels)
		addLevels(nb.Pending, body.Pending, st.Pending)
		for depth, a := range st.Active {
			entry := ActiveBatch{UtilizationRatio: a.UtilizationRatio, TTLSeconds: a.TTLSeconds}
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
			body.Errors = append(body.Errors, "node "+n.Label+": "+e)
		}
		if !nb.Available {
			body.Errors = append(body.Errors, "node "+n.Label+": unavailable (health checks or failed uploads); uploads go to the other nodes")
		}
		if !st.LastCheck.IsZero() && (body.LastCheck == nil || st.LastCheck.After(*body.LastCheck)) {
			body.LastCheck = &st.LastCheck
		}
		if !st.NextCheck.IsZero() && (body.NextCheck == nil || st.NextCheck.Before(*body.NextCheck)) {
			body.NextCheck = &st.NextCheck
		}
		body.Nodes[n.Label] = nb
	}
	for depth, want := range body.ReserveConfig {
		if body.CurrentLevels[depth] < want {
			body.LowReserveWarning = true
		}
	}
	return beeerror.WriteJSON(w, http.StatusOK, body)
}

func addLevels(node, total map[string]int, levels map[int]int) {
	for depth, n := range levels {
		key := strconv.Itoa(depth)
		node[key] = n
		total[key] += n
	}
}
