package beeroutes

import (
	"net/http"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// CoalescerHealthPath is where the request-coalescer story serves its stats; Bee has no such
// route, so answering it here shadows nothing.
const CoalescerHealthPath = "/health/coalescer"

// Front is the gateway's first stop for every request: a Swarm site's own origin, the
// plugin's API under its prefix, the coalescer's health path, or else Bee's routes, each
// under its CORS policy. Set the fields before the first request.
type Front struct {
	Mode    routepolicy.Mode
	Hosts   *subdomain.Hosts // nil: no subdomains
	BeeCORS *cors.Policy     // nil: CORS left to Bee
	APICORS *cors.Policy     // nil: the API answers no CORS request
	Routes  *Routes

	// APIEndpoint returns the part of path after the API prefix, if path is under it; API
	// serves that endpoint.
	APIEndpoint func(path string) (string, bool)
	API         func(w http.ResponseWriter, r *http.Request, endpoint string) error
	// CoalescerHealth serves CoalescerHealthPath.
	CoalescerHealth func(w http.ResponseWriter, r *http.Request) error
}

// Serve serves r; what goes to Bee goes through next.
func (f *Front) Serve(w http.ResponseWriter, r *http.Request, next Handler) error {
	if f.Hosts != nil {
		// A Swarm site's own origin serves its content and nothing else.
		if site, under, err := f.Hosts.Match(r.Host); under {
			cw, done, cerr := f.BeeCORS.Wrap(w, r, cors.SiteMethods, f.Mode)
			if done {
				return cerr
			}
			f.forBeeCORS(r)
			if w, done, err = subdomain.Serve(cw, r, site, err); done {
				return cors.OnError(cw, err)
			}
			return cors.OnError(cw, f.Routes.Serve(w, r, next))
		}
	}
	if endpoint, ok := f.APIEndpoint(r.URL.Path); ok {
		w, done, err := f.APICORS.Wrap(w, r, cors.APIMethods, f.Mode)
		if done {
			return err
		}
		return f.API(w, r, endpoint)
	}
	w, done, err := f.BeeCORS.Wrap(w, r, func() []string { return routepolicy.AllowedMethods(f.Mode, r.URL.Path) }, f.Mode)
	if done {
		return err
	}
	f.forBeeCORS(r)
	if isCoalescerHealth(r.URL.Path) {
		return cors.OnError(w, f.CoalescerHealth(w, r))
	}
	return cors.OnError(w, f.Routes.Serve(w, r, next))
}

// forBeeCORS prepares a request the gateway's CORS policy covers for Bee: Bee never sees
// Origin (the gateway owns CORS: Bee's per-origin answers would only split coalesced flights
// and refuse WebSockets from other origins). The server's own error answers get the CORS
// headers from cors.OnError once the request's handler returned.
func (f *Front) forBeeCORS(r *http.Request) {
	if f.BeeCORS != nil {
		r.Header.Del("Origin")
	}
}

// isCoalescerHealth reports whether path cleans to CoalescerHealthPath. Cleaning only drops
// segments, so a path without the word cannot: most requests skip the cleaning pass.
func isCoalescerHealth(path string) bool {
	return strings.Contains(path, "coalescer") && routepolicy.CleanPath(path) == CoalescerHealthPath
}
