package caddymodule

import (
	"fmt"
	"time"

	"github.com/swarmgate/caddy-bee/internal/replay"
)

const (
	// defaultMaxReplayMemory bounds the replay copies of all injected uploads together:
	// 64 uploads of 1 MiB or more at once keep one, on a box with 512 MiB and up.
	defaultMaxReplayMemory = 64 << 20

	// defaultUploadIdleTimeout ends an injected upload whose client sent nothing for this
	// long; generous for a mobile client, short enough that silent sockets cannot pile up.
	defaultUploadIdleTimeout = 60 * time.Second

	// maxConfigSize caps size options, so a typo cannot ask for a petabyte.
	maxConfigSize = 1 << 40
)

// replayMemory holds the replay copies of every injected upload in this process. The bound
// is process-wide (memory is): each provisioned injecting handler sets it, the last wins.
var replayMemory = replay.NewBudget(defaultMaxReplayMemory)

func (h *Handler) maxReplayMemory() int64 {
	if h.MaxReplayMemory > 0 {
		return h.MaxReplayMemory
	}
	return defaultMaxReplayMemory
}

func (h *Handler) uploadIdleTimeout() time.Duration {
	if h.UploadIdleTimeout > 0 {
		return time.Duration(h.UploadIdleTimeout)
	}
	return defaultUploadIdleTimeout
}

func (h *Handler) validateUploadGuards() error {
	if h.MaxReplayMemory < 0 || h.MaxReplayMemory > maxConfigSize {
		return fmt.Errorf("max_replay_memory %d: want a size between 1 byte and 1TiB, e.g. 64MiB", h.MaxReplayMemory)
	}
	if h.UploadIdleTimeout < 0 {
		return fmt.Errorf("upload_idle_timeout %s: must not be negative", time.Duration(h.UploadIdleTimeout))
	}
	return nil
}
