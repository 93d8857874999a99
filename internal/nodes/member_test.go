package nodes_test

import (
	"github.com/swarmgate/caddy-bee/internal/inject"
	"github.com/swarmgate/caddy-bee/internal/nodes"
)

// A Member is what the injector routes uploads to (inject imports nodes, so the guard
// lives in this external test package).
var _ inject.Node = (*nodes.Member)(nil)
