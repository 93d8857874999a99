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

// unmarshalCoalesce reads `coalesce on|off` or `coalesce { <option> <value>... }`.
func (h *Handler) unmarshalCoalesce(d *caddyfile.Dispenser) error {
	if h.Coalesce != nil {
		return d.Errf("coalesce: declared twice")
	}
	h.Coalesce = new(CoalesceConfig)
	return onOffBlock(d, "coalesce", h.Coalesce, &h.Coalesce.Disabled, coalesceOptions,
		"unknown coalesce option %q: want memory_window, max_wait, max_memory, max_spill, spill_dir or stall_timeout")
}

var coalesceOptions = map[string]func(*CoalesceConfig, string, string) error{
	"memory_window": field(func(c *CoalesceConfig) *int64 { return &c.MemoryWindow }, sizeUpTo(1<<40, "8MiB")),
	"max_wait":      field(func(c *CoalesceConfig) *caddy.Duration { return &c.MaxWait }, parseDuration),
	"max_memory":    field(func(c *CoalesceConfig) *int64 { return &c.MaxMemory }, sizeUpTo(1<<50, "256MiB")),
	"max_spill":     field(func(c *CoalesceConfig) *int64 { return &c.MaxSpill }, sizeUpTo(1<<50, "256MiB")),
	"spill_dir":     field(func(c *CoalesceConfig) *string { return &c.SpillDir }, anyString),
	"stall_timeout": field(func(c *CoalesceConfig) *caddy.Duration { return &c.StallTimeout }, parseDuration),
}
