package nodes

import "sync"

// Upstream is the proxy's view of a node: whether its health checks let requests reach it.
type Upstream interface {
	comparable
	Available() bool
}

// Availability records, by dial address, the upstream the proxy last used for each node, so
// the gateway can ask the proxy's health checks about a node before it injects one of the
// node's batches into an upload. The zero value is ready to use.
type Availability[U Upstream] struct {
	m sync.Map // dial address -> U
}

// Observe records the upstreams the proxy is choosing among.
func (a *Availability[U]) Observe(list []U, dial func(U) string) {
	for _, u := range list {
		if old, ok := a.m.Load(dial(u)); !ok || old.(U) != u {
			a.m.Store(dial(u), u)
		}
	}
}

// Available reports the proxy's view of the node at dial: unknown (no request has gone
// through the proxy's node choice yet) counts as available.
func (a *Availability[U]) Available(dial string) bool {
	u, ok := a.m.Load(dial)
	return !ok || u.(U).Available()
}

// Pinned returns the upstream at address pin among list when it is available, and the zero
// U otherwise: a request pinned to a node (its batch stamps nowhere else) goes to that node
// or to none, as no upstream beats a wrong one.
func Pinned[U Upstream](list []U, pin string, dial func(U) string) U {
	var none U
	for _, u := range list {
		if dial(u) == pin {
			if u.Available() {
				return u
			}
			return none
		}
	}
	return none
}
