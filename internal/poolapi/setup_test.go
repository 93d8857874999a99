package poolapi

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// New follows the handler's own pool block's acquire_fallback and no other, names the
// configured sizes, and leaves no nil pool or coalescer behind an interface.
func TestNewFromSetup(t *testing.T) {
	a := New(Setup{Prefix: "/api/v1"})
	require.True(t, a.Fallback, "the default")
	require.Nil(t, a.Coalescer)
	require.Empty(t, a.Sizes)

	cfg := pool.DefaultConfig()
	cfg.AcquireFallback = false
	poolless := nodes.NewMember(nodes.Plan{URL: "http://a:1", Label: "a"}, nil, func(string) bool { return true })
	a = New(Setup{Sizes: &cfg, Nodes: []*nodes.Member{poolless}})
	require.True(t, a.Fallback, "a node's own block does not set the API's fallback")
	require.Equal(t, SizesText(cfg.Reserve), a.Sizes)
	require.Len(t, a.Nodes, 1)
	require.Nil(t, a.Nodes[0].Pool, "no typed nil pool")
	require.Equal(t, "a", a.Nodes[0].Label)
	require.False(t, a.anyPool())

	a = New(Setup{Sizes: &cfg, SizesShared: true})
	require.False(t, a.Fallback, "the handler's block sets it")
}
