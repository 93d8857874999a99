package caddymodule

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/swarmgate/caddy-bee/internal/beeroutes"
)

// ServeHTTP applies the route policy, answers the plugin's own endpoints, injects pool
// batches into uploads and coalesces downloads (internal/beeroutes); everything else goes to
// next (reverse_proxy).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return h.front.Serve(w, r, next)
}

// provisionRequestPath builds what serves requests (internal/beeroutes), with Caddy's
// answer for a client that went away: a 499 Caddy logs at debug level, as reverse_proxy
// does for a client that cancelled.
func (h *Handler) provisionRequestPath() {
	routes := &beeroutes.Routes{
		Mode: h.mode, Logger: h.logger, Ready: h.api.HasUsable,
		RetryAfter: func() time.Duration { return h.api.RetryAfter(0) },
		Cache:      h.cache, Coalescer: h.coalescer,
		ClientGone: func(err error) error { return caddyhttp.Error(499, err) },
	}
	if h.multiNode() {
		routes.PinClientBatch = h.routeClientBatch
	}
	if h.injecting() {
		replayMemory.SetMax(h.uploadGuards().ReplayMemory())
		routes.Injector = h.newInjector()
	}
	h.front = &beeroutes.Front{
		Mode: h.mode, Hosts: h.hosts, BeeCORS: h.beeCORS, APICORS: h.apiCORS, Routes: routes,
		APIEndpoint: h.apiEndpoint, API: h.serveAPI, CoalescerHealth: h.api.ServeCoalescerHealth,
	}
}
