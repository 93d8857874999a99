// Package poolapi is caddy-bee's own JSON API under api_prefix: the stamp pool's status,
// acquire, available and check endpoints (swarm_connect's shapes) and the coalescer's stats.
// It works over small interfaces, so it is tested without Caddy.
package poolapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// Pool is what the API needs of one node's stamp pool (a *pool.Pool).
type Pool interface {
	Status() pool.Status
	Acquire(ctx context.Context, depth int, fallback bool) (pool.Batch, bool, error)
	Available() []pool.Batch
	TriggerCheck() time.Time
	RetryAfter(depth int) time.Duration
	HasUsable() bool
}

// Coalescer is what the API needs of the request coalescer (a *coalesce.Group).
type Coalescer interface{ Stats() coalesce.Stats }

// Node is one Bee node as the API sees it.
type Node struct {
	Label  string
	Pool   Pool                     // nil: no pool on this node
	Usable func(now time.Time) bool // health checks and failed uploads agree the node takes uploads
}

// API serves the endpoints. Its fields are set once, at provision time.
type API struct {
	Prefix     string // api_prefix, for messages
	AdminToken string // "": the endpoints that need it always answer 401
	Nodes      []Node // the single node, or every node of several
	MultiNode  bool
	Fallback   bool      // acquire_fallback
	Sizes      string    // the configured depths, for the answer to an unkept one
	Coalescer  Coalescer // nil: coalescing is off
	Logger     *zap.Logger
}

const (
	// maxAPIBody bounds pool API request bodies; the largest valid one is a few dozen bytes.
	maxAPIBody = 4 << 10
	// apiBodyTimeout refuses clients that trickle a body to hold a connection.
	apiBodyTimeout = 5 * time.Second
)

// Serve answers endpoint (the path after api_prefix) and reports whether it is one of the
// API's; the error is the response writer's.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, endpoint string) (bool, error) {
	w.Header().Set("Cache-Control", "no-store")
	rt, ok := routes[endpoint]
	if !ok {
		return false, nil
	}
	if !AllowMethods(w, r, rt.methods...) {
		return true, nil
	}
	if rt.needsPool {
		if !a.anyPool() {
			return true, writePoolDisabled(w)
		}
		if !a.RequireToken(w, r) {
			return true, nil
		}
	}
	return true, rt.serve(a, w, r)
}

var (
	readMethods = []string{http.MethodGet, http.MethodHead}
	postOnly    = []string{http.MethodPost}
)

// routes are the endpoints; those that need a pool also need the admin token (they spend or
// reveal batch ids).
var routes = map[string]struct {
	serve     func(*API, http.ResponseWriter, *http.Request) error
	methods   []string
	needsPool bool
}{
	"/coalescer":      {(*API).serveCoalescerStats, readMethods, false},
	"/pool/status":    {(*API).serveStatus, readMethods, false},
	"/pool/acquire":   {(*API).serveAcquire, postOnly, true},
	"/pool/available": {(*API).serveAvailable, readMethods, true},
	"/pool/check":     {(*API).serveCheck, postOnly, true},
}

// NotFound answers an endpoint under api_prefix that does not exist.
func (a *API) NotFound(w http.ResponseWriter, endpoint string) error {
	return beeerror.WriteDetail(w, http.StatusNotFound, "no such endpoint: "+a.Prefix+endpoint+
		"; try "+a.Prefix+"/pool/status or "+a.Prefix+"/coalescer")
}

// AllowMethods answers 405 unless r's method is one of methods; it reports whether to go on.
func AllowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	_ = beeerror.WriteDetail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+strings.Join(methods, " or "))
	return false
}

// readAPIBody decodes a small JSON body into dst. An empty body means `{}`. It returns the
// HTTP status to answer with when the body is refused.
func readAPIBody(w http.ResponseWriter, r *http.Request, dst any) (int, error) {
	if r.ContentLength > maxAPIBody {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes is too large: the limit is %d bytes", r.ContentLength, maxAPIBody)
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(apiBodyTimeout))
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body is too large: the limit is %d bytes", maxAPIBody)
	case err != nil:
		return http.StatusRequestTimeout, fmt.Errorf("reading the request body failed (send it within %s): %v", apiBodyTimeout, err)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return 0, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return http.StatusUnprocessableEntity, fmt.Errorf(`malformed JSON body: %v; send e.g. {"size":"small"} or {"depth":20}`, err)
	}
	if dec.More() {
		return http.StatusUnprocessableEntity, fmt.Errorf(`malformed JSON body: extra data after the object; send e.g. {"size":"small"}`)
	}
	return 0, nil
}

// writePoolDisabled answers a pool endpoint of a gateway without a pool as swarm_connect's
// disabled pool does (503), so its clients retry or report instead of taking the gateway
// for a missing one; 404 stays for endpoints that do not exist.
func writePoolDisabled(w http.ResponseWriter) error {
	return beeerror.WriteDetail(w, http.StatusServiceUnavailable,
		"the stamp pool is not enabled on this gateway: its operator must add a pool block to the bee directive "+
			"(e.g. pool { reserve small 1 }); clients can send uploads with their own postage batch meanwhile")
}

// ServeCoalescerHealth is GET /health/coalescer: the coalescer stats in the request-coalescer
// story's names. Public like /health: it reveals no batch id.
func (a *API) ServeCoalescerHealth(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if !AllowMethods(w, r, http.MethodGet, http.MethodHead) {
		return nil
	}
	if a.Coalescer == nil {
		return beeerror.WriteJSON(w, http.StatusOK, coalesce.DisabledHealth())
	}
	return beeerror.WriteJSON(w, http.StatusOK, a.Coalescer.Stats().Health())
}

func (a *API) serveCoalescerStats(w http.ResponseWriter, _ *http.Request) error {
	if a.Coalescer == nil {
		return beeerror.WriteDetail(w, http.StatusNotFound, "request coalescing is off on this gateway (coalesce off)")
	}
	return beeerror.WriteJSON(w, http.StatusOK, a.Coalescer.Stats())
}
