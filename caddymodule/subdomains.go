package caddymodule

import "github.com/swarmgate/caddy-bee/internal/subdomain"

// SubdomainsConfig serves each Swarm site on an origin of its own (internal/subdomain).
type SubdomainsConfig = subdomain.Config

// subdomains is the Subdomains block, created by whichever of subdomains and ens comes first.
func (h *Handler) subdomains() *SubdomainsConfig {
	if h.Subdomains == nil {
		h.Subdomains = new(SubdomainsConfig)
	}
	return h.Subdomains
}
