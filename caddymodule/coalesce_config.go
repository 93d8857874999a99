package caddymodule

import (
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
)

// CoalesceConfig configures request coalescing.
type CoalesceConfig struct {
	// Disabled turns coalescing off.
	Disabled bool `json:"disabled,omitempty"`

	// MemoryWindow is how many body bytes one flight keeps in memory before spilling
	// to a temporary file. Default: 8 MiB.
	MemoryWindow int64 `json:"memory_window,omitempty"`

	// MaxWait is how long a follower waits for the leader's response headers before
	// it also tries a new upstream request; the followers that give up on one leader
	// share that one request and take whichever answer comes first. Default: 5s.
	MaxWait caddy.Duration `json:"max_wait,omitempty"`

	// MaxMemory bounds the body bytes held in memory by all flights together.
	// Default: 256 MiB.
	MaxMemory int64 `json:"max_memory,omitempty"`

	// MaxSpill bounds the body bytes in spill files by all flights together. With both
	// bounds reached, shared flights read Bee no faster than their readers take the
	// bytes, and new flights are not shared. Default: 4 GiB.
	MaxSpill int64 `json:"max_spill,omitempty"`

	// SpillDir is where spill files go. Default: the system temp dir.
	SpillDir string `json:"spill_dir,omitempty"`

	// StallTimeout cuts a client that accepts no response bytes for this long.
	// Default: 1m.
	StallTimeout caddy.Duration `json:"stall_timeout,omitempty"`
}

// removeStaleSpillsOnce: once per process, not on every config reload.
var removeStaleSpillsOnce sync.Once

func (h *Handler) coalesceOptions() coalesce.Options {
	opts := coalesce.Options{Observer: beemetrics.Coalescer{}, Logger: h.logger}
	if h.Coalesce != nil {
		opts.MemoryWindow = h.Coalesce.MemoryWindow
		opts.MaxWait = time.Duration(h.Coalesce.MaxWait)
		opts.MaxMemory = h.Coalesce.MaxMemory
		opts.MaxSpill = h.Coalesce.MaxSpill
		opts.TempDir = h.Coalesce.SpillDir
		opts.StallTimeout = time.Duration(h.Coalesce.StallTimeout)
	}
	return opts
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
