package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/poolapi"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// SubdomainsConfig serves each Swarm site on an origin of its own (internal/subdomain).
type SubdomainsConfig = subdomain.Config

// serveSubdomainURL is GET <api_prefix>/subdomain/<ref>.
func (h *Handler) serveSubdomainURL(w http.ResponseWriter, r *http.Request, ref string) error {
	return poolapi.ServeSubdomainURLs(w, r, h.hosts, ref)
}

func (h *Handler) unmarshalSubdomains(d *caddyfile.Dispenser) error {
	bases := d.RemainingArgs()
	if len(bases) == 0 {
		return d.Errf("subdomains: want one or more base domains, e.g. `subdomains bzz.example.com`")
	}
	if len(h.subdomains().Bases) > 0 {
		return d.Errf("subdomains: declared twice; list every base domain on one line")
	}
	h.Subdomains.Bases = bases
	if _, err := h.Subdomains.Hosts(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// subdomains is the Subdomains block, created by whichever of subdomains and ens comes first.
func (h *Handler) subdomains() *SubdomainsConfig {
	if h.Subdomains == nil {
		h.Subdomains = new(SubdomainsConfig)
	}
	return h.Subdomains
}
