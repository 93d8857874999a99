package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
)

// CoalesceConfig configures request coalescing (internal/coalesce).
type CoalesceConfig = coalesce.Config[caddy.Duration]

func (h *Handler) coalesceOptions() coalesce.Options {
	return h.Coalesce.Options(beemetrics.Coalescer{}, h.logger)
}

func (h *Handler) unmarshalCoalesce(d *caddyfile.Dispenser) (err error) {
	if h.Coalesce != nil {
		return d.Errf("coalesce: declared twice")
	}
	h.Coalesce, err = options.Coalesce(d)
	return err
}
