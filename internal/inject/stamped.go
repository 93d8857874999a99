package inject

import (
	"net/http"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// StampedBytes is the batch space an upload of n content bytes takes on Bee: single chunks
// (/chunks, /soc) take what they are; tree uploads are counted at the request's
// Swarm-Redundancy-Level, or Bee v2.8.1's default MEDIUM (a v2.8.0 node's default is
// NONE, so the estimate errs on the full side there).
func StampedBytes(r *http.Request, n int64) int64 {
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	level := swarm.LevelMedium
	switch {
	case strings.HasPrefix(path, "/chunks"), strings.HasPrefix(path, "/soc/"):
		level = swarm.LevelNone
	case r.Header.Get("Swarm-Redundancy-Level") != "":
		if l, err := swarm.ParseLevel(r.Header.Get("Swarm-Redundancy-Level")); err == nil {
			level = l
		}
	}
	return pool.StampedBytes(n, level)
}
