package caddymodule

import (
	"bytes"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/swarmgate/caddy-bee/internal/beeroutes"
	"github.com/swarmgate/caddy-bee/internal/inject"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
	"github.com/swarmgate/caddy-bee/internal/replay"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
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
func (h *Handler) provisionRequestPath(mode routepolicy.Mode) {
	routes := &beeroutes.Routes{
		Mode: mode, Logger: h.logger, Ready: h.api.HasUsable,
		RetryAfter: func() time.Duration { return h.api.RetryAfter(0) },
		Cache:      h.cache, Coalescer: h.coalescer,
		ClientGone:  func(err error) error { return caddyhttp.Error(499, err) },
		LargeWrites: largeDownloadWrites,
	}
	if h.multiNode() {
		routes.PinClientBatch = h.routeClientBatch
	}
	if h.injecting() {
		replayMemory.SetMax(h.uploadGuards().ReplayMemory())
		routes.Injector = h.newInjector()
	}
	hosts, _ := h.Subdomains.Hosts() // Validate checked it
	h.front = &beeroutes.Front{
		Mode: mode, Hosts: hosts, BeeCORS: h.beeCORS, APICORS: h.apiCORS, Routes: routes,
		APIEndpoint: h.apiEndpoint, API: h.serveAPI, CoalescerHealth: h.api.ServeCoalescerHealth,
	}
}

// batchIDPlaceholder lets access logs record the injected batch: {http.bee.batch_id}.
const batchIDPlaceholder = "http.bee.batch_id"

// replayWait bounds how long a retry waits for the first attempt's read of the client's
// body to return: a client stalled mid-body gets Bee's refusal instead of a hung request.
var replayWait = 10 * time.Second

// replayMemory holds the replay copies of every injected upload in this process. The bound
// is process-wide (memory is): each provisioned injecting handler sets it, the last wins.
var replayMemory = replay.NewBudget(inject.DefaultMaxReplayMemory)

// uploadGuards are the configured bounds of injected uploads (internal/inject.Guards).
func (h *Handler) uploadGuards() inject.Guards {
	return inject.Guards{MaxReplayMemory: h.MaxReplayMemory, IdleTimeout: time.Duration(h.UploadIdleTimeout)}
}

// newInjector wires the Caddy-free injector (internal/inject) to Caddy: its response
// recorder, error values, the replacer and the variable lb_policy bee routes by.
func (h *Handler) newInjector() *inject.Injector {
	nodes := make([]inject.Node, len(h.nodes))
	for i, n := range h.nodes {
		nodes[i] = n
	}
	return &inject.Injector{
		Nodes: nodes, Multi: h.multiNode(),
		Replay: replayMemory, ReplayWait: replayWait, IdleTimeout: h.uploadGuards().Idle(),
		RetryAfter: func() time.Duration { return h.api.RetryAfter(0) },
		Logger:     h.logger, Observer: beemetrics.Injection{},
		NewRecorder: func(w http.ResponseWriter, hold func(status int) bool) inject.Recorder {
			return caddyhttp.NewResponseRecorder(w, new(bytes.Buffer), func(status int, _ http.Header) bool { return hold(status) })
		},
		HTTPError: func(status int, err error) error { return caddyhttp.Error(status, err) },
		OnBatch: func(r *http.Request, id string) {
			if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
				repl.Set(batchIDPlaceholder, id)
			}
		},
		Route: func(r *http.Request, n inject.Node) { routeTo(r, n.(*beeNode)) },
	}
}
