package caddymodule

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// SubdomainsConfig makes the gateway serve every Swarm site on an origin of its own:
// `<cid>.<base>/<path>` is served as `/bzz/<ref>/<path>`.
type SubdomainsConfig struct {
	// Bases are the base domains, e.g. `bzz.example.com`; a request to `<label>.<base>`
	// is a content request when `<label>` is a Swarm CID (base32 CIDv1, codec
	// swarm-manifest 0xfa or swarm-feed 0xfb, keccak-256 multihash).
	Bases []string `json:"bases,omitempty"`

	// ENS serves any other label under a base as the ENS name `<label>.eth` (mutable
	// content; Bee must be started with an ENS resolver).
	ENS bool `json:"ens,omitempty"`
}

func (c *SubdomainsConfig) hosts() (*subdomain.Hosts, error) {
	if c == nil {
		return nil, nil
	}
	return subdomain.NewHosts(c.Bases, c.ENS)
}

// serveSubdomain answers a request to a content subdomain: GET and HEAD of the site's paths,
// nothing else (no uploads, no plugin API, no other Bee route on a site's origin).
func (h *Handler) serveSubdomain(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, site subdomain.Site, err error) error {
	if err != nil {
		return writeBeeError(w, http.StatusNotFound, "no Swarm site at "+subdomain.HostName(r.Host)+": "+err.Error())
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return writeBeeError(w, http.StatusMethodNotAllowed,
			r.Method+" is not allowed on a Swarm site's origin: only GET and HEAD; upload through the gateway's main host")
	}
	r.URL.Path = site.Root + routepolicy.CleanPath(r.URL.Path)
	r.URL.RawPath = ""
	return h.serveGateway(&siteResponse{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, root: site.Root}, r, next)
}

// siteResponse maps Bee's redirects (e.g. `/bzz/<ref>/dir` -> `/bzz/<ref>/dir/`) back into the
// site's own paths.
type siteResponse struct {
	*caddyhttp.ResponseWriterWrapper
	root string
}

func (s *siteResponse) WriteHeader(status int) {
	if loc := s.Header().Get("Location"); loc != "" {
		if rest, ok := strings.CutPrefix(loc, s.root+"/"); ok {
			s.Header().Set("Location", "/"+rest)
		}
	}
	s.ResponseWriterWrapper.WriteHeader(status)
}

// serveSubdomainURL is GET <api_prefix>/subdomain/<ref>: the hosts that serve ref's site.
func (h *Handler) serveSubdomainURL(w http.ResponseWriter, r *http.Request, ref string) error {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return nil
	}
	if h.hosts == nil {
		return writeDetail(w, http.StatusNotFound,
			"subdomains are not configured on this gateway: add `subdomains <base-domain>` to the bee directive")
	}
	cid, err := subdomain.CID(strings.ToLower(ref))
	if err != nil {
		return writeDetail(w, http.StatusUnprocessableEntity, err.Error())
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	port := ""
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = ":" + p
	}
	urls := []string{}
	for _, base := range h.hosts.Bases() {
		urls = append(urls, fmt.Sprintf("%s://%s.%s%s/", scheme, cid, base, port))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reference": strings.ToLower(ref), "cid": cid, "urls": urls})
}
