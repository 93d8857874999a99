package inject

import (
	"fmt"
	"time"
)

const (
	// DefaultMaxReplayMemory bounds the replay copies of all injected uploads together:
	// 64 uploads of 1 MiB or more at once keep one, on a box with 512 MiB and up.
	DefaultMaxReplayMemory = 64 << 20

	// DefaultUploadIdleTimeout ends an injected upload whose client sent nothing for this
	// long; generous for a mobile client, short enough that silent sockets cannot pile up.
	DefaultUploadIdleTimeout = 60 * time.Second

	// MaxReplayMemoryLimit caps max_replay_memory, so a typo cannot ask for a petabyte.
	MaxReplayMemoryLimit = 1 << 40
)

// Guards bound what injected uploads hold: the configured values, 0 for the defaults.
type Guards struct {
	MaxReplayMemory int64
	IdleTimeout     time.Duration
}

// ReplayMemory is the bound of all replay copies together, the default applied.
func (g Guards) ReplayMemory() int64 {
	if g.MaxReplayMemory > 0 {
		return g.MaxReplayMemory
	}
	return DefaultMaxReplayMemory
}

// Idle is the upload idle timeout, the default applied.
func (g Guards) Idle() time.Duration {
	if g.IdleTimeout > 0 {
		return g.IdleTimeout
	}
	return DefaultUploadIdleTimeout
}

// Validate checks the configured values with the Caddyfile's words.
func (g Guards) Validate() error {
	if g.MaxReplayMemory < 0 || g.MaxReplayMemory > MaxReplayMemoryLimit {
		return fmt.Errorf("max_replay_memory %d: want a size between 1 byte and 1TiB, e.g. 64MiB", g.MaxReplayMemory)
	}
	if g.IdleTimeout < 0 {
		return fmt.Errorf("upload_idle_timeout %s: must not be negative", g.IdleTimeout)
	}
	return nil
}
