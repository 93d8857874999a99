package caddymodule

import "github.com/swarmgate/caddy-bee/internal/beeerror"

// The gateway's JSON answers (internal/beeerror): refusals in Bee's error shape, the pool
// API's `{"detail": ...}` errors and any other JSON body.
var (
	writeBeeError = beeerror.Write
	writeDetail   = beeerror.WriteDetail
	writeJSON     = beeerror.WriteJSON
)
