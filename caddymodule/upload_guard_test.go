package caddymodule

import (
	"os"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/inject"
)

func TestUploadGuardOptions(t *testing.T) {
	var h Handler
	require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(
		"bee localhost:1633 {\n max_replay_memory 16MiB\n upload_idle_timeout 20s\n}")))
	require.EqualValues(t, 16<<20, h.MaxReplayMemory)
	require.Equal(t, caddy.Duration(20*time.Second), h.UploadIdleTimeout)
	require.Equal(t, inject.Guards{MaxReplayMemory: 16 << 20, IdleTimeout: 20 * time.Second}, h.uploadGuards())

	for input, want := range map[string]string{
		"bee x:1 {\n max_replay_memory lots\n}":    `max_replay_memory "lots": want a size`,
		"bee x:1 {\n max_replay_memory 0\n}":       `max_replay_memory "0"`,
		"bee x:1 {\n max_replay_memory 2PiB\n}":    "at most 1TiB",
		"bee x:1 {\n max_replay_memory\n}":         "max_replay_memory: want exactly one value",
		"bee x:1 {\n upload_idle_timeout 0s\n}":    `upload_idle_timeout "0s": want a positive duration`,
		"bee x:1 {\n upload_idle_timeout soon\n}":  `upload_idle_timeout "soon"`,
		"bee x:1 {\n upload_idle_timeout 1s 2s\n}": "want exactly one value",
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		require.ErrorContains(t, err, want, input)
	}

	require.ErrorContains(t, (&Handler{MaxReplayMemory: -1}).uploadGuards().Validate(), "max_replay_memory -1")
	require.ErrorContains(t, (&Handler{UploadIdleTimeout: -1}).uploadGuards().Validate(), "upload_idle_timeout")
}

// Caddyfile.example shows the upload guards and the server timeouts a public gateway sets.
func TestCaddyfileExampleShowsUploadGuards(t *testing.T) {
	raw, err := os.ReadFile("../Caddyfile.example")
	require.NoError(t, err)
	out, err := adaptCaddyfile(t, string(raw))
	require.NoError(t, err)
	for _, want := range []string{`"max_replay_memory": 67108864`, `"upload_idle_timeout": 60000000000`,
		`"read_timeout": 600000000000`, `"read_header_timeout": 10000000000`, `"idle_timeout": 120000000000`} {
		require.Contains(t, out, want)
	}
}
