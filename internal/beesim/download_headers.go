package beesim

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// retrievalHeadersOK validates the retrieval tuning headers of a GET download as Bee's
// download handler does: they never change a successful body, but a malformed one is a 400.
func retrievalHeadersOK(w http.ResponseWriter, r *http.Request) bool {
	bad := func(field string, err error) bool {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		writeError(w, http.StatusBadRequest, "invalid header params", reason{field, err.Error()})
		return false
	}
	h := r.Header
	if v := h.Get("Swarm-Redundancy-Strategy"); v != "" {
		if _, err := strconv.Atoi(v); err != nil {
			return bad("Swarm-Redundancy-Strategy", err)
		}
	}
	if v := h.Get("Swarm-Redundancy-Level"); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return bad("Swarm-Redundancy-Level", err)
		}
		if !swarm.Level(n).Valid() {
			writeError(w, http.StatusBadRequest, "invalid header params", reason{"swarm-redundancy-level", "want redundancy level to be between 0 and 4"})
			return false
		}
	}
	for _, name := range []string{"Swarm-Redundancy-Fallback-Mode", "Swarm-Cache"} {
		if v := h.Get(name); v != "" {
			if _, err := strconv.ParseBool(v); err != nil {
				return bad(name, err)
			}
		}
	}
	if v := h.Get("Swarm-Lookahead-Buffer-Size"); v != "" {
		if _, err := strconv.Atoi(v); err != nil {
			return bad("Swarm-Lookahead-Buffer-Size", err)
		}
	}
	if v := h.Get("Swarm-Chunk-Retrieval-Timeout"); v != "" {
		if _, err := time.ParseDuration(v); err != nil {
			writeError(w, http.StatusBadRequest, "could not parse headers")
			return false
		}
	}
	return true
}
