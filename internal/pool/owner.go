package pool

import "strings"

// Owns reports whether the ledger, as this process last read it, records the batch id as one
// the pool bought (in any state: an issued batch is the client's now, but it still stamps only
// on this pool's node). A gateway in front of several Bee nodes routes an upload carrying the
// id to the node that owns it.
func (p *Pool) Owns(id string) bool {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) != 64 {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.doc != nil && p.doc.find(id) != nil
}
