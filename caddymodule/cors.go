package caddymodule

import (
	"slices"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/cors"
)

// CORSConfig configures Cross-Origin Resource Sharing (internal/cors).
type CORSConfig = cors.Config

func (h *Handler) provisionCORS() (err error) {
	h.beeCORS, h.apiCORS, err = h.CORS.Policies()
	return err
}

// unmarshalCORS reads `cors off`, `cors <origin>...` and an optional block
// `{ api <origin>... }`.
func (h *Handler) unmarshalCORS(d *caddyfile.Dispenser) error {
	if h.CORS != nil {
		return d.Errf("cors: declared twice")
	}
	c := new(CORSConfig)
	if args := d.RemainingArgs(); len(args) == 1 && args[0] == "off" {
		c.Disabled = true
	} else if slices.Contains(args, "off") {
		return d.Errf("cors: `off` stands alone; to allow origins, list them without it")
	} else if len(args) > 0 {
		c.Origins = args
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() != "api" {
			return d.Errf("unknown cors option %q: want api", d.Val())
		}
		if c.APIOrigins != nil {
			return d.Errf("cors api: declared twice")
		}
		if c.APIOrigins = d.RemainingArgs(); len(c.APIOrigins) == 0 {
			return d.Errf("cors api: want one or more origins (or *) allowed on the plugin's API")
		}
	}
	if !c.Disabled && len(c.Origins) == 0 && len(c.APIOrigins) == 0 {
		return d.Errf("cors: want `off`, `*` or one or more origins such as https://app.example")
	}
	if err := c.CheckOrigins(); err != nil {
		return d.Err(err.Error())
	}
	h.CORS = c
	return nil
}
