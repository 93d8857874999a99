package caddymodule

import (
	"context"
	"maps"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
)

// CoalesceConfig configures request coalescing (internal/coalesce).
type CoalesceConfig = coalesce.Config[caddy.Duration]

func (h *Handler) coalesceOptions() coalesce.Options {
	opts := h.Coalesce.Options(beemetrics.Coalescer{}, h.logger)
	opts.FlightValues = ownVars
	opts.PacedWrites = pacedDownloadWrites
	return opts
}

// ownVars gives a coalesced flight its own copy of the starting request's variables.
// reverse_proxy sets variables (caddyhttp.SetVar) on the flight's goroutine, and that
// request may have ended meanwhile (its client gone, the flight running on for others)
// with the server reading its map for the access log: a concurrent map read and write,
// which Go turns into a fatal error.
func ownVars(ctx context.Context) context.Context {
	vars, ok := ctx.Value(caddyhttp.VarsCtxKey).(map[string]any)
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, caddyhttp.VarsCtxKey, maps.Clone(vars))
}

func (h *Handler) unmarshalCoalesce(d *caddyfile.Dispenser) (err error) {
	if h.Coalesce != nil {
		return d.Errf("coalesce: declared twice")
	}
	h.Coalesce, err = options.Coalesce(d)
	return err
}
