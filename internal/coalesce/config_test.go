package coalesce

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigOptions(t *testing.T) {
	require.Equal(t, Options{}, (*Config[int64])(nil).Options(nil, nil), "no block: every default")
	c := &Config[time.Duration]{MemoryWindow: 1 << 20, MaxWait: time.Second, MaxMemory: 2 << 20, MaxSpill: 3 << 20,
		SpillDir: "/spill", StallTimeout: time.Minute}
	require.Equal(t, Options{MemoryWindow: 1 << 20, MaxWait: time.Second, MaxMemory: 2 << 20, MaxSpill: 3 << 20,
		TempDir: "/spill", StallTimeout: time.Minute}, c.Options(nil, nil))
}
