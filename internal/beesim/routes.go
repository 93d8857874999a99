package beesim

import (
	"net/http"
	"sort"
	"strings"
)

// allowedMethods is the method set Bee registers for a path (split, without /v1), or nil
// when Bee has no such route. A 405 names them in Allow.
func (s *Sim) allowedMethods(seg []string) []string {
	n := len(seg)
	switch seg[0] {
	case "health", "readiness", "node", "chainstate", "wallet", "addresses":
		if n == 1 {
			return []string{http.MethodGet}
		}
	case "bytes", "bzz":
		if n == 1 {
			return []string{http.MethodPost}
		}
		if seg[0] == "bytes" && n == 2 || seg[0] == "bzz" && n >= 3 {
			return []string{http.MethodGet, http.MethodHead}
		}
		if seg[0] == "bzz" && n == 2 {
			return []string{http.MethodGet} // Bee redirects to the directory form
		}
	case "chunks":
		switch {
		case n == 1:
			return []string{http.MethodPost}
		case n == 2 && seg[1] == "stream":
			return []string{http.MethodGet}
		case n == 2:
			return []string{http.MethodDelete, http.MethodGet, http.MethodHead}
		}
	case "stewardship":
		if n == 2 {
			return []string{http.MethodGet, http.MethodPut}
		}
	case "soc", "feeds":
		if n == 3 {
			return []string{http.MethodGet, http.MethodPost}
		}
	case "batches":
		if n == 1 || n == 2 && s.profile.v281 {
			return []string{http.MethodGet}
		}
	case "stamps":
		switch {
		case n == 1:
			return []string{http.MethodGet}
		case n == 2 && s.profile.v281:
			return []string{http.MethodGet, http.MethodPatch}
		case n == 2:
			return []string{http.MethodGet}
		case n == 3 && seg[2] == "buckets":
			return []string{http.MethodGet}
		case n == 3:
			return []string{http.MethodPost}
		case n == 4 && (seg[1] == "topup" || seg[1] == "dilute"):
			return []string{http.MethodPatch}
		}
	}
	return nil
}

// allowHeader is a method set as Bee's Allow header lists it: sorted, comma-separated.
func allowHeader(methods []string) string {
	sorted := append([]string(nil), methods...)
	sort.Strings(sorted)
	return strings.Join(sorted, ", ")
}

// methodNotAllowed answers as Bee's jsonhttp.MethodHandler: Allow lists the route's methods
// (sorted), and the body is its fixed JSON line.
func methodNotAllowed(w http.ResponseWriter, allow []string) {
	w.Header().Set("Allow", allowHeader(allow))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write([]byte(`{"message":"Method Not Allowed","code":405}` + "\n"))
}
