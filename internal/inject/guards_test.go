package inject

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGuardsDefaultsAndLimits(t *testing.T) {
	require.EqualValues(t, DefaultMaxReplayMemory, Guards{}.ReplayMemory())
	require.Equal(t, DefaultUploadIdleTimeout, Guards{}.Idle())
	set := Guards{MaxReplayMemory: 16 << 20, IdleTimeout: 20 * time.Second}
	require.EqualValues(t, 16<<20, set.ReplayMemory())
	require.Equal(t, 20*time.Second, set.Idle())
	require.NoError(t, set.Validate())

	require.ErrorContains(t, Guards{MaxReplayMemory: -1}.Validate(), "max_replay_memory -1")
	require.ErrorContains(t, Guards{MaxReplayMemory: MaxReplayMemoryLimit + 1}.Validate(), "between 1 byte and 1TiB")
	require.ErrorContains(t, Guards{IdleTimeout: -1}.Validate(), "upload_idle_timeout")
}
