package nodes

import (
	"cmp"
	"fmt"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// Config is one Bee node of a gateway in front of several nodes of one Swarm network.
// Each node keeps a stamp pool of its own: a batch stamps only on the node that bought it.
// D is the configuration's duration type (see pool.Block).
type Config[D ~int64] struct {
	// URL is the node's Bee API URL, e.g. `http://10.0.0.2:1633`. It must be one of the
	// reverse_proxy's upstreams (the bee directive makes it so).
	URL string `json:"url"`

	// Label names the node in API answers (/status, /acquire) and logs; internal URLs never
	// appear there. Default: `node1`, `node2`, ... in the order of the nodes.
	Label string `json:"label,omitempty"`

	// Pool replaces the handler's pool block for this node. Default: the handler's pool.
	Pool *pool.Block[D] `json:"pool,omitempty"`
}

// Resolve checks the node configuration, beeURL or else a nodes list, and returns it
// normalised: each URL normalised (bee.NormalizeURL) and listed once, each label defaulted
// (Label) and used once, each pool block valid.
func Resolve[D ~int64](beeURL string, list []Config[D]) (string, []Config[D], error) {
	if len(list) == 0 {
		if beeURL == "" {
			return "", nil, nil
		}
		normalized, err := bee.NormalizeURL(beeURL)
		if err != nil {
			return "", nil, fmt.Errorf("bee_url: %w", err)
		}
		return normalized, nil, nil
	}
	if beeURL != "" {
		return "", nil, fmt.Errorf("bee_url %q and nodes are both set: list every node under nodes", beeURL)
	}
	out := make([]Config[D], len(list))
	urls, labels := map[string]bool{}, map[string]bool{}
	for i, n := range list {
		u, err := bee.NormalizeURL(n.URL)
		if err != nil {
			return "", nil, fmt.Errorf("node %d url: %w", i+1, err)
		}
		if urls[u] {
			return "", nil, fmt.Errorf("node %s listed twice", u)
		}
		urls[u] = true
		label, err := Label(i, n.Label)
		if err != nil {
			return "", nil, err
		}
		if labels[label] {
			return "", nil, fmt.Errorf("node label %q used twice: give each node its own label", label)
		}
		labels[label] = true
		if err := n.Pool.Check(); err != nil {
			return "", nil, fmt.Errorf("node %s: %w", label, err)
		}
		out[i] = Config[D]{URL: u, Label: label, Pool: n.Pool}
	}
	return "", out, nil
}

// AnyPool reports whether some node of list has a pool block of its own.
func AnyPool[D ~int64](list []Config[D]) bool {
	for _, n := range list {
		if n.Pool != nil {
			return true
		}
	}
	return false
}

// Plan is what one node runs: its URL and label, and its pool's resolved configuration.
type Plan struct {
	URL, Label string
	Pool       *pool.Config // nil: no pool on this node
}

// Plans resolves each node's pool block once: the node's own, else shared (the handler's
// pool block, nil when it has none). Without a nodes list the single node is beeURL, which
// a pool needs. sizes is the configuration the API names depths from: shared, else the
// first node's with a pool.
func Plans[D ~int64](shared *pool.Block[D], beeURL string, list []Config[D]) (plans []Plan, sizes *pool.Config, err error) {
	if shared != nil {
		cfg, err := shared.Resolve()
		if err != nil {
			return nil, nil, err
		}
		sizes = &cfg
	}
	if len(list) == 0 {
		if sizes == nil {
			return nil, nil, nil
		}
		if beeURL == "" {
			return nil, nil, fmt.Errorf("pool needs bee_url, the Bee API the pool buys from")
		}
		list = []Config[D]{{URL: beeURL}}
	}
	sharedCfg := sizes
	for _, n := range list {
		p := Plan{URL: n.URL, Label: n.Label, Pool: sharedCfg}
		if n.Pool != nil {
			own, err := n.Pool.Resolve()
			if err != nil {
				return nil, nil, Named(n.Label, err)
			}
			p.Pool = &own
		}
		sizes = cmp.Or(sizes, p.Pool)
		plans = append(plans, p)
	}
	return plans, sizes, nil
}

// Named names the node, one of several, that err is about.
func Named(label string, err error) error {
	if label == "" {
		return err
	}
	return fmt.Errorf("node %s: %w", label, err)
}
