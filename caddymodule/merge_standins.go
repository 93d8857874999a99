package caddymodule

import (
	"net/http"
	"time"

	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/poolapi"
)

// The names compact-b's files still call on this branch. compact-b's own branch calls
// internal/poolapi and internal/nodes directly, so once both branches are merged nothing
// uses these: delete this file then.

var allowMethods = poolapi.AllowMethods

const nodeAvoidTime = nodes.AvoidTime

func (h *Handler) serveCoalescerHealth(w http.ResponseWriter, r *http.Request) error {
	return h.api.ServeCoalescerHealth(w, r)
}

func (h *Handler) requireToken(w http.ResponseWriter, r *http.Request) bool {
	return h.api.RequireToken(w, r)
}

func (h *Handler) retryAfter(depth int) time.Duration { return h.api.RetryAfter(depth) }
func (h *Handler) hasUsable() bool                    { return h.api.HasUsable() }
