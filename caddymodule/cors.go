package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/cors"
)

// CORSConfig configures Cross-Origin Resource Sharing, so dapps on other origins can use the
// gateway from a browser. The gateway answers preflights itself and sets the
// Access-Control-* headers of every answer (replacing Bee's); it never allows credentials.
type CORSConfig struct {
	// Disabled leaves CORS on Bee's routes to Bee (`cors off`): preflights and headers pass
	// through untouched.
	Disabled bool `json:"disabled,omitempty"`

	// Origins that may use Bee's routes: `*` or origins such as `https://app.example`.
	// Default: `*` (the content is public anyway).
	Origins []string `json:"origins,omitempty"`

	// APIOrigins that may use the plugin's own API (api_prefix). Default: none, the API
	// answers no CORS request.
	APIOrigins []string `json:"api_origins,omitempty"`
}

// apiMethods are the methods of the plugin's API endpoints.
func apiMethods() []string { return []string{http.MethodGet, http.MethodHead, http.MethodPost} }

// provisionCORS builds the policies (internal/cors.Policies).
func (h *Handler) provisionCORS() (err error) {
	c := h.CORS
	if c == nil {
		c = &CORSConfig{}
	}
	h.beeCORS, h.apiCORS, err = cors.Policies(c.Disabled, c.Origins, c.APIOrigins)
	return err
}

// unmarshalCORS reads `cors off`, `cors <origin>...` and an optional block
// `{ api <origin>... }`.
func (h *Handler) unmarshalCORS(d *caddyfile.Dispenser) error {
	if h.CORS != nil {
		return d.Errf("cors: declared twice")
	}
	c := new(CORSConfig)
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == "off":
		c.Disabled = true
	case len(args) > 0:
		for _, o := range args {
			if o == "off" {
				return d.Errf("cors: `off` stands alone; to allow origins, list them without it")
			}
		}
		c.Origins = args
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "api":
			if c.APIOrigins != nil {
				return d.Errf("cors api: declared twice")
			}
			c.APIOrigins = d.RemainingArgs()
			if len(c.APIOrigins) == 0 {
				return d.Errf("cors api: want one or more origins (or *) allowed on the plugin's API")
			}
		default:
			return d.Errf("unknown cors option %q: want api", d.Val())
		}
	}
	if !c.Disabled && len(c.Origins) == 0 && len(c.APIOrigins) == 0 {
		return d.Errf("cors: want `off`, `*` or one or more origins such as https://app.example")
	}
	for _, list := range [][]string{c.Origins, c.APIOrigins} {
		if len(list) > 0 {
			if _, err := cors.New(list, nil, nil); err != nil {
				return d.Err(err.Error())
			}
		}
	}
	h.CORS = c
	return nil
}
