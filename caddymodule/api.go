package caddymodule

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/poolapi"
)

// provisionAPI sets up the plugin's own API over the provisioned pools and coalescer;
// sizes is the resolved pool configuration whose depths an unkept depth's answer names.
func (h *Handler) provisionAPI(sizes *pool.Config) {
	h.api = poolapi.New(poolapi.Setup{Prefix: h.APIPrefix, AdminToken: caddy.NewReplacer().ReplaceAll(h.AdminToken, ""),
		MultiNode: h.multiNode(), Nodes: h.nodes, Sizes: sizes, SizesShared: h.Pool != nil, Coalescer: h.coalescer, Logger: h.logger})
}

// serveAPI routes the plugin's own JSON API under api_prefix.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, endpoint string) error {
	if served, err := h.api.Serve(w, r, endpoint); served {
		return err
	}
	if endpoint == "/cache" || strings.HasPrefix(endpoint, "/cache/") && !strings.Contains(endpoint[len("/cache/"):], "/") {
		return h.api.ServeCache(w, r, h.cache, endpoint) // GET /cache, DELETE /cache/{ref}
	}
	if ref, ok := strings.CutPrefix(endpoint, "/subdomain/"); ok && ref != "" && !strings.Contains(ref, "/") {
		return poolapi.ServeSubdomainURLs(w, r, h.front.Hosts, ref)
	}
	return h.api.NotFound(w, endpoint)
}
