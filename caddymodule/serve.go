package caddymodule

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/inject"
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
			return subdomain.Serve(w, r, site, err, func(w http.ResponseWriter, r *http.Request) error {
				return h.serveGateway(w, r, next)
			})
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
	return h.serveGateway(w, r, next)
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

// serveGateway applies the route policy and serves Bee's routes: injection for uploads,
// coalescing for downloads, next (reverse_proxy) for the rest.
func (h *Handler) serveGateway(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	decision := routepolicy.Check(h.mode, r.Method, r.URL.Path)
	if !decision.Allowed {
		h.logger.Debug("route refused by policy", zap.String("method", r.Method), zap.String("path", decision.Path))
		return writeBeeError(w, http.StatusForbidden,
			"Forbidden: this gateway does not expose "+r.Method+" "+decision.Path+" (route policy: "+string(h.mode)+")")
	}
	if decision.Path != r.URL.Path {
		// Forward exactly the path that was checked.
		r.URL.Path, r.URL.RawPath = decision.Path, ""
	}

	if h.injector != nil {
		switch {
		case decision.Upload && inject.Asked(decision.Route, r.Header):
			return h.injector.Serve(w, r, next.ServeHTTP)
		case decision.Route == "/gateway" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			return writeJSON(w, http.StatusOK, map[string]bool{"gateway": true})
		case decision.Route == "/readiness" && !h.hasUsable():
			w.Header().Set("Retry-After", retryAfterSeconds(h.retryAfter(0)))
			return writeJSON(w, http.StatusServiceUnavailable, map[string]string{
				"status": "notReady",
				"reason": "no usable postage batch in the gateway's pool yet; uploads would be refused",
			})
		}
	}

	if decision.Upload && h.multiNode() {
		h.routeClientBatch(r) // an upload with an issued batch goes to the node that owns it
	}
	served, wrapped := cache.ServeImmutable(h.cache, w, r, next, h.logger)
	if served {
		return nil
	}
	if h.coalescer != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		err := h.coalescer.ServeHTTP(w, r, wrapped.ServeHTTP)
		if errors.Is(err, coalesce.ErrUpstreamAborted) {
			// The upstream body was cut: end this response as broken, never as a short 200.
			panic(http.ErrAbortHandler)
		}
		if errors.Is(err, coalesce.ErrClientGone) {
			// The client's own doing (gone, or cut for stalling): a 499 Caddy logs at
			// debug level, as reverse_proxy does for a client that cancelled.
			return caddyhttp.Error(499, err)
		}
		return err
	}
	return wrapped.ServeHTTP(w, r)
}
