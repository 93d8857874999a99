package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/caddyfileopts"
	"github.com/swarmgate/caddy-bee/internal/cors"
)

// CORSConfig configures Cross-Origin Resource Sharing (internal/cors).
type CORSConfig = cors.Config

func (h *Handler) provisionCORS() (err error) {
	h.beeCORS, h.apiCORS, err = h.CORS.Policies()
	return err
}

func (h *Handler) unmarshalCORS(d *caddyfile.Dispenser) (err error) {
	if h.CORS != nil {
		return d.Errf("cors: declared twice")
	}
	h.CORS, err = caddyfileopts.CORS(d)
	return err
}
