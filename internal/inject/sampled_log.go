package inject

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// sampledLog writes at most one line per interval for events any anonymous client can cause
// at will (refused uploads), with the count of lines left out since the last one.
type sampledLog struct {
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// refusedUploadLog samples the WARN lines of uploads refused by Bee or for want of a batch.
var refusedUploadLog = &sampledLog{interval: 10 * time.Second}

func (s *sampledLog) warn(logger *zap.Logger, msg string, fields ...zap.Field) {
	s.mu.Lock()
	now := time.Now()
	if !s.last.IsZero() && now.Sub(s.last) < s.interval {
		s.suppressed++
		s.mu.Unlock()
		return
	}
	left := s.suppressed
	s.last, s.suppressed = now, 0
	s.mu.Unlock()
	logger.Warn(msg, append(fields, zap.Int("similar_lines_left_out", left))...)
}
