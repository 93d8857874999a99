package nodes

import (
	"net/http"
	"time"
)

// The proxy's active check of each node, unless the user configured one: HealthURI every
// HealthInterval (a syncing node is not ready).
const (
	HealthURI      = "/readiness"
	HealthInterval = 10 * time.Second
	HealthTimeout  = 5 * time.Second
)

// UnhealthyStatus are the answers that make the proxy's passive check count a node as down
// for AvoidTime: 502, 503 (syncing) and 504.
func UnhealthyStatus() []int {
	return []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
}
