package poolapi

import (
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// Setup is the provisioned gateway an API serves.
type Setup struct {
	Prefix, AdminToken string
	MultiNode          bool
	Nodes              []*nodes.Member
	// Sizes is the resolved pool configuration whose depths an unkept depth's answer names;
	// nil: no node keeps a pool.
	Sizes *pool.Config
	// SizesShared: Sizes is the handler's own pool block, whose acquire_fallback the API
	// follows (else the default).
	SizesShared bool
	Coalescer   *coalesce.Group // nil: coalescing is off
	Logger      *zap.Logger
}

// New builds the API of s.
func New(s Setup) *API {
	a := &API{Prefix: s.Prefix, AdminToken: s.AdminToken, MultiNode: s.MultiNode,
		Fallback: pool.DefaultConfig().AcquireFallback, Logger: s.Logger}
	if s.Sizes != nil {
		a.Sizes = SizesText(s.Sizes.Reserve)
		if s.SizesShared {
			a.Fallback = s.Sizes.AcquireFallback
		}
	}
	if s.Coalescer != nil { // no nil *coalesce.Group behind a non-nil Coalescer
		a.Coalescer = s.Coalescer
	}
	for _, n := range s.Nodes {
		node := Node{Label: n.Label, Usable: n.Usable}
		if n.Pool != nil {
			node.Pool = n.Pool
		}
		a.Nodes = append(a.Nodes, node)
	}
	return a
}
