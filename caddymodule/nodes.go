package caddymodule

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/inject"
	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// NodeConfig is one Bee node of a gateway in front of several nodes of one Swarm network.
// Each node keeps a stamp pool of its own: a batch stamps only on the node that bought it.
type NodeConfig struct {
	// URL is the node's Bee API URL, e.g. `http://10.0.0.2:1633`. It must be one of the
	// reverse_proxy's upstreams (the bee directive makes it so).
	URL string `json:"url"`

	// Label names the node in API answers (/status, /acquire) and logs; internal URLs never
	// appear there. Default: `node1`, `node2`, ... in the order of the nodes.
	Label string `json:"label,omitempty"`

	// Pool replaces the handler's pool block for this node. Default: the handler's pool.
	Pool *PoolConfig `json:"pool,omitempty"`
}

// beeNode is a configured node at run time (nodes.Node, inject.Node).
type beeNode struct {
	label, url      string
	dial            string // the reverse_proxy upstream's dial address, host:port
	cfg             *PoolConfig
	pool            *pool.Pool // nil: no pool on this node
	poolKey         string     // the usage-pool key this handler holds, "" when none
	nodes.Avoidance            // the handler saw the node fail an upload
}

// nodeAvoidTime and labelPattern are internal/nodes' (for the Caddyfile's node blocks).
var (
	nodeAvoidTime = nodes.AvoidTime
	labelPattern  = nodes.LabelPattern
)

// nodeVar is the request variable through which the bee handler tells the bee selection
// policy (lb_policy bee) which node a request must reach: the node's dial address.
const nodeVar = "bee.node"

// multiNode reports whether the handler fronts several nodes (the nodes list).
func (h *Handler) multiNode() bool { return len(h.Nodes) > 0 }

// validateNodes checks the nodes list and returns it normalised, with default labels.
func validateNodes(list []NodeConfig, beeURL string) ([]NodeConfig, error) {
	if len(list) == 0 {
		return nil, nil
	}
	if beeURL != "" {
		return nil, fmt.Errorf("bee_url %q and nodes are both set: list every node under nodes", beeURL)
	}
	specs := make([]nodes.Spec, len(list))
	for i, n := range list {
		specs[i] = nodes.Spec{URL: n.URL, Label: n.Label}
	}
	specs, err := nodes.Normalize(specs, func(i int, label string) error {
		if list[i].Pool == nil {
			return nil
		}
		if _, err := list[i].Pool.Resolve(); err != nil {
			return fmt.Errorf("node %s: %w", label, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]NodeConfig, len(list))
	for i, s := range specs {
		out[i] = NodeConfig{URL: s.URL, Label: s.Label, Pool: list[i].Pool}
	}
	return out, nil
}

// dialAddress is the host:port reverse_proxy dials for a normalised Bee URL.
func dialAddress(beeURL string) string { return bee.DialAddress(beeURL) }

// StampPool is the node's pool, nil when it keeps none.
func (n *beeNode) StampPool() *pool.Pool { return n.pool }

// Usable reports whether injected uploads may go to the node now: Caddy's health checks
// (as lb_policy bee last saw them) and the handler's own record of a failed upload agree.
func (n *beeNode) Usable(now time.Time) bool { return !n.Avoided(now) && upstreamAvailable(n.dial) }

func (n *beeNode) usable(now time.Time) bool { return n.Usable(now) }

// Name labels the node in logs.
func (n *beeNode) Name() string { return n.label }

// routeTo pins the request to node for lb_policy bee.
func routeTo(r *http.Request, n *beeNode) {
	caddyhttp.SetVar(r.Context(), nodeVar, n.dial)
}

// routeClientBatch sends an upload that carries its own batch (or pre-signed stamp) to the
// node that owns the batch, when one of the pools issued it. Other uploads take the
// fallback policy: the batch is not the gateway's to place.
func (h *Handler) routeClientBatch(r *http.Request) {
	id := inject.ClientBatchID(r.Header)
	if id == "" {
		return
	}
	if n, ok := nodes.Owner(r.Context(), h.nodes, id); ok {
		routeTo(r, n)
	}
}

func nodesHavePool(list []NodeConfig) bool {
	for _, n := range list {
		if n.Pool != nil {
			return true
		}
	}
	return false
}

var _ inject.Node = (*beeNode)(nil)
