package coalesce

import (
	"time"

	"go.uber.org/zap"
)

// Config configures request coalescing: the gateway's JSON `coalesce` object. D is the
// configuration's duration type (caddy.Duration in the Caddy module), so this package needs
// no Caddy.
type Config[D ~int64] struct {
	// Disabled turns coalescing off.
	Disabled bool `json:"disabled,omitempty"`

	// MemoryWindow is how many body bytes one flight keeps in memory before spilling
	// to a temporary file. Default: 8 MiB.
	MemoryWindow int64 `json:"memory_window,omitempty"`

	// MaxWait is how long a follower waits for the leader's response headers before it
	// also tries a new upstream request; the followers that give up on one leader
	// share that one request and take whichever answer comes first. Default: 5s.
	MaxWait D `json:"max_wait,omitempty"`

	// MaxMemory bounds the body bytes held in memory by all flights together.
	// Default: 256 MiB.
	MaxMemory int64 `json:"max_memory,omitempty"`

	// MaxSpill bounds the body bytes in spill files by all flights together. With both
	// bounds reached, shared flights read Bee no faster than their readers take the
	// bytes, and new flights are not shared. Default: 4 GiB.
	MaxSpill int64 `json:"max_spill,omitempty"`

	// SpillDir is where spill files go. Default: the system temp dir.
	SpillDir string `json:"spill_dir,omitempty"`

	// StallTimeout cuts a client that takes less than one write of at most 1 MiB of the
	// response within this long. Default: 1m.
	StallTimeout D `json:"stall_timeout,omitempty"`
}

// Options are a Group's options from c (nil: every default), reporting to observer and
// logger.
func (c *Config[D]) Options(observer Observer, logger *zap.Logger) Options {
	opts := Options{Observer: observer, Logger: logger}
	if c != nil {
		opts.MemoryWindow = c.MemoryWindow
		opts.MaxWait = time.Duration(c.MaxWait)
		opts.MaxMemory = c.MaxMemory
		opts.MaxSpill = c.MaxSpill
		opts.TempDir = c.SpillDir
		opts.StallTimeout = time.Duration(c.StallTimeout)
	}
	return opts
}
