package caddymodule

import (
	"net/http"
	"strings"

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

// serveSubdomainURL is GET <api_prefix>/subdomain/<ref>: the hosts that serve ref's site.
func (h *Handler) serveSubdomainURL(w http.ResponseWriter, r *http.Request, ref string) error {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return nil
	}
	if h.hosts == nil {
		return writeDetail(w, http.StatusNotFound,
			"subdomains are not configured on this gateway: add `subdomains <base-domain>` to the bee directive")
	}
	cid, urls, err := h.hosts.URLs(r, ref)
	if err != nil {
		return writeDetail(w, http.StatusUnprocessableEntity, err.Error())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reference": strings.ToLower(ref), "cid": cid, "urls": urls})
}
