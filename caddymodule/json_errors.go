package caddymodule

import "github.com/swarmgate/caddy-bee/internal/beeerror"

// The plugin API's JSON answers (internal/beeerror): `{"detail": ...}` errors and any other
// JSON body.
var (
	writeDetail = beeerror.WriteDetail
	writeJSON   = beeerror.WriteJSON
)
