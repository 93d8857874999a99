package nodes

import (
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// Member is a configured node at run time (a Node, and an inject.Node).
type Member struct {
	Label, URL string
	Dial       string     // the reverse_proxy upstream's dial address, host:port
	Pool       *pool.Pool // nil: no pool on this node
	// Reachable is the proxy's health checks' view of the node at a dial address.
	Reachable func(dial string) bool
	Avoidance // the gateway saw the node fail an upload
}

// NewMember is the node of plan, with its pool (nil: none).
func NewMember(plan Plan, p *pool.Pool, reachable func(dial string) bool) *Member {
	return &Member{Label: plan.Label, URL: plan.URL, Dial: bee.DialAddress(plan.URL), Pool: p, Reachable: reachable}
}

// StampPool is the node's pool, nil when it keeps none.
func (m *Member) StampPool() *pool.Pool { return m.Pool }

// Usable reports whether injected uploads may go to the node now: the proxy's health checks
// and the gateway's own record of a failed upload agree.
func (m *Member) Usable(now time.Time) bool { return !m.Avoided(now) && m.Reachable(m.Dial) }

// Name labels the node in logs.
func (m *Member) Name() string { return m.Label }

// Logger names the node, one of several, in logger's entries.
func Logger(logger *zap.Logger, label string) *zap.Logger {
	if label == "" {
		return logger
	}
	return logger.With(zap.String("node", label))
}
