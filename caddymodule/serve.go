package caddymodule

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/swarmgate/caddy-bee/internal/beeroutes"
	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// coalescerHealthPath is where the request-coalescer story serves its stats; Bee has no such
// route, so answering it here shadows nothing.
const coalescerHealthPath = "/health/coalescer"

// ServeHTTP applies the route policy, answers the plugin's own endpoints, injects pool
// batches into uploads and coalesces downloads; everything else goes to next (reverse_proxy).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.hosts != nil {
		// A Swarm site's own origin serves its content and nothing else.
		if site, under, err := h.hosts.Match(r.Host); under {
			w, done, cerr := h.beeCORS.Wrap(w, r, siteMethods, h.mode)
			if done {
				return cerr
			}
			next = h.forBeeCORS(w, r, next)
			if w, done, err = subdomain.Serve(w, r, site, err); done {
				return err
			}
			return h.routes.Serve(w, r, next)
		}
	}
	if endpoint, ok := h.apiEndpoint(r.URL.Path); ok {
		w, done, err := h.apiCORS.Wrap(w, r, apiMethods, h.mode)
		if done {
			return err
		}
		return h.serveAPI(w, r, endpoint)
	}
	w, done, err := h.beeCORS.Wrap(w, r, func() []string { return routepolicy.AllowedMethods(h.mode, r.URL.Path) }, h.mode)
	if done {
		return err
	}
	next = h.forBeeCORS(w, r, next)
	if routepolicy.CleanPath(r.URL.Path) == coalescerHealthPath {
		return h.serveCoalescerHealth(w, r)
	}
	return h.routes.Serve(w, r, next)
}

// forBeeCORS prepares a request the gateway's CORS policy covers for Bee: Caddy's own error
// answers get the CORS headers too, and Bee never sees Origin (the gateway owns CORS: Bee's
// per-origin answers would only split coalesced flights and refuse WebSockets from other
// origins).
func (h *Handler) forBeeCORS(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) caddyhttp.Handler {
	if h.beeCORS != nil {
		r.Header.Del("Origin")
	}
	return cors.OnError(w, next)
}

// siteMethods are the methods a Swarm site's own origin answers.
func siteMethods() []string { return []string{http.MethodGet, http.MethodHead} }

// provisionRequestPath builds what serves Bee's routes (internal/beeroutes), with Caddy's
// answer for a client that went away: a 499 Caddy logs at debug level, as reverse_proxy
// does for a client that cancelled.
func (h *Handler) provisionRequestPath() {
	h.routes = &beeroutes.Routes{
		Mode: h.mode, Logger: h.logger, Ready: h.hasUsable,
		RetryAfter: func() time.Duration { return h.retryAfter(0) },
		Cache:      h.cache, Coalescer: h.coalescer,
		ClientGone: func(err error) error { return caddyhttp.Error(499, err) },
	}
	if h.multiNode() {
		h.routes.PinClientBatch = h.routeClientBatch
	}
	if h.injecting() {
		replayMemory.SetMax(h.maxReplayMemory())
		h.routes.Injector = h.newInjector()
	}
}
