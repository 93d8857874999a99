package caddymodule

import (
	"net/http"
	"strings"
)

// serveAPI routes the plugin's own JSON API under api_prefix.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, endpoint string) error {
	w.Header().Set("Cache-Control", "no-store")
	switch endpoint {
	case "/coalescer":
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return nil
		}
		return h.serveCoalescerStats(w)
	}
	return writeDetail(w, http.StatusNotFound, "no such endpoint: "+h.APIPrefix+endpoint+"; try "+h.APIPrefix+"/coalescer")
}

func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	_ = writeDetail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+strings.Join(methods, " or "))
	return false
}

func (h *Handler) serveCoalescerStats(w http.ResponseWriter) error {
	if h.coalescer == nil {
		return writeDetail(w, http.StatusNotFound, "request coalescing is off on this gateway (coalesce off)")
	}
	return writeJSON(w, http.StatusOK, h.coalescer.Stats())
}
