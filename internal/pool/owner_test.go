package pool

import (
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// A pool owns the batches it bought, issued ones included, and no other batch on its node.
func TestOwnsItsBatchesOnly(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	foreign := e.sim.CreateBatch(17, new(big.Int).Mul(big.NewInt(24000), big.NewInt(1_000_000)), "someone-else", true, true)
	p := e.start(t, fastConfig(map[int]int{17: 1}))
	waitLevel(t, p, 17, 1)
	ctx := context.Background()
	issued, _, err := p.Acquire(ctx, 17, false)
	require.NoError(t, err)
	require.True(t, p.Owns(ctx, issued.ID))
	require.True(t, p.Owns(ctx, strings.ToUpper(issued.ID)), "ids are hex, compared without case")
	require.False(t, p.Owns(ctx, foreign), "a batch the pool did not buy is not its own")
	require.False(t, p.Owns(ctx, ""))
	require.False(t, p.Owns(ctx, strings.Repeat("0", 64)))

	// Another gateway sharing the storage (a second pool of the same node, which has not
	// read the ledger itself) finds the batch in the stored ledger.
	other, err := New(fastConfig(map[int]int{17: 1}), Deps{Bee: e.client, Storage: e.storage, NodeKey: "http://bee"})
	require.NoError(t, err)
	require.True(t, other.Owns(ctx, issued.ID))
	require.False(t, other.Owns(ctx, foreign))
}
