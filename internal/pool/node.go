package pool

import (
	"fmt"

	"github.com/swarmgate/caddy-bee/internal/bee"
)

// StartForNode starts a pool that buys from the Bee node at beeURL; its ledger is keyed by
// that URL, so a node keeps its ledger whether it is the gateway's only node or one of
// several. deps.Bee and deps.NodeKey are set here.
func StartForNode(beeURL string, cfg Config, deps Deps) (*Pool, error) {
	client, err := bee.New(beeURL, bee.Options{PurchaseTimeout: cfg.PurchaseTimeout, UserAgent: "caddy-bee"})
	if err != nil {
		return nil, fmt.Errorf("bee client: %w", err)
	}
	deps.Bee, deps.NodeKey = client, beeURL
	p, err := New(cfg, deps)
	if err != nil {
		return nil, err
	}
	p.Start()
	return p, nil
}
