// Package caddybee is the root of the caddy-bee plugin. Importing it registers the
// http.handlers.bee module and the bee Caddyfile directive, so that
// `xcaddy build --with github.com/swarmgate/caddy-bee` builds Caddy with the plugin.
package caddybee

import (
	// The module and directive live in caddymodule, the only package that imports Caddy.
	_ "github.com/swarmgate/caddy-bee/caddymodule"
)
