// Package beeroutes serves Bee's routes through the gateway, in this order: the route policy,
// batch injection into uploads, the gateway's own /gateway and /readiness answers, the
// content cache of immutable answers and the request coalescer; everything else goes to the
// next handler (the proxy to Bee).
package beeroutes

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/inject"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

// Handler is a handler that returns its error (Caddy's handler shape).
type Handler interface {
	ServeHTTP(http.ResponseWriter, *http.Request) error
}

// Routes serves Bee's routes. Set the fields before the first request.
type Routes struct {
	Mode   routepolicy.Mode
	Logger *zap.Logger

	// Injector serves uploads that ask for a pool batch; nil: uploads pass untouched and
	// /gateway and /readiness are Bee's.
	Injector *inject.Injector
	// Ready reports whether some node can take an injected upload now; RetryAfter when one
	// will.
	Ready      func() bool
	RetryAfter func() time.Duration
	// PinClientBatch sends an upload that carries a batch one of the pools issued to the
	// node that owns it; nil with a single node.
	PinClientBatch func(r *http.Request)

	Cache     *cache.Cache    // nil: no content cache (immutable answers are still marked)
	Coalescer *coalesce.Group // nil: no coalescing
	// ClientGone is the server's answer to a download whose client went away or stalled.
	ClientGone func(err error) error
	// LargeWrites, if set, lets a download's body reach its client in large writes (and
	// large sendfile calls) for the rest of the request.
	LargeWrites func(r *http.Request)
}

// Serve serves r through next under the route policy.
func (g *Routes) Serve(w http.ResponseWriter, r *http.Request, next Handler) error {
	decision := routepolicy.Check(g.Mode, r.Method, r.URL.Path)
	if !decision.Allowed {
		g.Logger.Debug("route refused by policy", zap.String("method", r.Method), zap.String("path", decision.Path))
		return beeerror.Write(w, http.StatusForbidden,
			"Forbidden: this gateway does not expose "+r.Method+" "+decision.Path+" (route policy: "+string(g.Mode)+")")
	}
	if decision.Path != r.URL.Path {
		// Forward exactly the path that was checked.
		r.URL.Path, r.URL.RawPath = decision.Path, ""
	}

	if g.Injector != nil {
		switch {
		case decision.Upload && inject.Asked(decision.Route, r.Header):
			return g.Injector.Serve(w, r, next.ServeHTTP)
		case decision.Route == "/gateway" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			return beeerror.WriteJSON(w, http.StatusOK, map[string]bool{"gateway": true})
		case decision.Route == "/readiness" && !g.Ready():
			w.Header().Set("Retry-After", beeerror.RetryAfterSeconds(g.RetryAfter()))
			return beeerror.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{
				"status": "notReady",
				"reason": "no usable postage batch in the gateway's pool yet; uploads would be refused",
			})
		}
	}

	if decision.Upload && g.PinClientBatch != nil {
		g.PinClientBatch(r) // an upload with an issued batch goes to the node that owns it
	}
	if g.LargeWrites != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		g.LargeWrites(r)
	}
	served, wrapped := cache.ServeImmutable(g.Cache, w, r, next, g.Logger)
	if served {
		return nil
	}
	if g.Coalescer != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		err := g.Coalescer.Serve(w, r, wrapped)
		if errors.Is(err, coalesce.ErrUpstreamAborted) {
			// The upstream body was cut: end this response as broken, never as a short 200.
			panic(http.ErrAbortHandler)
		}
		if errors.Is(err, coalesce.ErrClientGone) {
			// The client's own doing (gone, or cut for stalling): logged like a client that
			// cancelled.
			return g.ClientGone(err)
		}
		return err
	}
	return wrapped.ServeHTTP(w, r)
}
