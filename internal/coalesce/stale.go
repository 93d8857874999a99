package coalesce

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// spillPrefix starts the name of every spill file.
const spillPrefix = "caddy-bee-coalesce-"

// RemoveStaleSpills deletes spill files in dir ("" means os.TempDir()) not written for
// olderThan: a crashed process leaves its spills behind, since only the last reader of a
// flight removes its file. A live flight writes its file as the body arrives, and a reader
// still draining an older one keeps its open handle, so removing the name harms neither.
func RemoveStaleSpills(dir string, olderThan time.Duration) (removed int, err error) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list spill files in %s: %w", dir, err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), spillPrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		switch err := os.Remove(filepath.Join(dir, e.Name())); {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeStaleOnce: once per process, not on every config reload.
var removeStaleOnce sync.Once

// RemoveStaleSpillsOnce removes the spill files in dir a crashed process left (nothing else
// removes them) the first time it is called in this process, and logs what it did.
func RemoveStaleSpillsOnce(dir string, logger *zap.Logger) {
	removeStaleOnce.Do(func() {
		if n, err := RemoveStaleSpills(dir, time.Hour); err != nil {
			logger.Warn("could not remove stale coalescer spill files", zap.Error(err))
		} else if n > 0 {
			logger.Info("removed stale coalescer spill files", zap.Int("files", n))
		}
	})
}
