package caddymodule

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

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

// beeNode is a configured node at run time.
type beeNode struct {
	label, url string
	dial       string // the reverse_proxy upstream's dial address, host:port
	cfg        *PoolConfig
	pool       *pool.Pool // nil: no pool on this node
	poolKey    string     // the usage-pool key this handler holds, "" when none
	// avoidUntil (unix nanoseconds): the handler saw the node fail an upload; injected
	// uploads go elsewhere until then, whatever Caddy's health checks say.
	avoidUntil atomic.Int64
}

// nodeAvoidTime is how long an injected upload avoids a node that just failed one.
const nodeAvoidTime = 30 * time.Second

// nodeVar is the request variable through which the bee handler tells the bee selection
// policy (lb_policy bee) which node a request must reach: the node's dial address.
const nodeVar = "bee.node"

var labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// multiNode reports whether the handler fronts several nodes (the nodes list).
func (h *Handler) multiNode() bool { return len(h.Nodes) > 0 }

// validateNodes checks the nodes list and returns it normalised, with default labels.
func validateNodes(nodes []NodeConfig, beeURL string) ([]NodeConfig, error) {
	if len(nodes) == 0 {
		return nil, nil
	}
	if beeURL != "" {
		return nil, fmt.Errorf("bee_url %q and nodes are both set: list every node under nodes", beeURL)
	}
	out := make([]NodeConfig, len(nodes))
	urls, labels := map[string]bool{}, map[string]bool{}
	for i, n := range nodes {
		u, err := NormalizeBeeURL(n.URL)
		if err != nil {
			return nil, fmt.Errorf("node %d url: %w", i+1, err)
		}
		if urls[u] {
			return nil, fmt.Errorf("node %s listed twice", u)
		}
		urls[u] = true
		label := n.Label
		if label == "" {
			label = fmt.Sprintf("node%d", i+1)
		}
		if !labelPattern.MatchString(label) {
			return nil, fmt.Errorf("node %d label %q: want 1-32 letters, digits, '-', '_' or '.', starting with a letter or digit", i+1, label)
		}
		if labels[label] {
			return nil, fmt.Errorf("node label %q used twice: give each node its own label", label)
		}
		labels[label] = true
		if n.Pool != nil {
			if _, err := n.Pool.poolConfig(); err != nil {
				return nil, fmt.Errorf("node %s: %w", label, err)
			}
		}
		out[i] = NodeConfig{URL: u, Label: label, Pool: n.Pool}
	}
	return out, nil
}

// dialAddress is the host:port reverse_proxy dials for a normalised Bee URL.
func dialAddress(beeURL string) string {
	u, err := url.Parse(beeURL)
	if err != nil {
		return beeURL
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// usable reports whether injected uploads may go to the node now: Caddy's health checks
// (as lb_policy bee last saw them) and the handler's own record of a failed upload agree.
func (n *beeNode) usable(now time.Time) bool {
	return now.UnixNano() >= n.avoidUntil.Load() && upstreamAvailable(n.dial)
}

func (n *beeNode) avoid(now time.Time) { n.avoidUntil.Store(now.Add(nodeAvoidTime).UnixNano()) }

// routeTo pins the request to node for lb_policy bee.
func routeTo(r *http.Request, n *beeNode) {
	caddyhttp.SetVar(r.Context(), nodeVar, n.dial)
}

// ownerOf returns the node whose pool bought batch id, or nil.
func (h *Handler) ownerOf(ctx context.Context, id string) *beeNode {
	for _, n := range h.nodes {
		if n.pool != nil && n.pool.Owns(ctx, id) {
			return n
		}
	}
	return nil
}

// routeClientBatch sends an upload that carries its own batch (or pre-signed stamp) to the
// node that owns the batch, when one of the pools issued it. Other uploads take the
// fallback policy: the batch is not the gateway's to place.
func (h *Handler) routeClientBatch(r *http.Request) {
	id := r.Header.Get(batchHeader)
	if stamp := r.Header.Get(stampHeader); len(stamp) >= 64 {
		id = stamp[:64] // a stamp starts with its batch id
	}
	if id == "" {
		return
	}
	if n := h.ownerOf(r.Context(), id); n != nil {
		routeTo(r, n)
	}
}

func nodesHavePool(nodes []NodeConfig) bool {
	for _, n := range nodes {
		if n.Pool != nil {
			return true
		}
	}
	return false
}
