package pool

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// A process killed between an intent's write and Bee's taking the purchase leaves an intent
// Bee never saw. After the restart it counts as pending (holding back a purchase) only until
// its purchase timeout and a few blocks have passed; it stays in the ledger, so a batch with
// its label that shows up later is still adopted, and that label is never bought again.
func TestUnseenIntentStopsCountingAsPendingButIsStillAdopted(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	cfg := fastConfig(map[int]int{17: 1})
	cfg.IntentGrace = time.Hour
	cfg.CheckInterval = time.Hour
	ctx := context.Background()
	started := e.clock.Now()
	const label = "caddy-bee-17-killed"
	key, _ := ledgerKeys("http://bee")
	raw, err := (&ledgerDoc{Version: ledgerV1, Node: "http://bee",
		Intents: []*intent{{Label: label, Depth: 17, Amount: "41472000000", StartedAt: started}}}).encode()
	require.NoError(t, err)
	require.NoError(t, e.storage.Store(ctx, key, raw))

	p := e.start(t, cfg)
	unseenAfter := cfg.PurchaseTimeout + intentListingBlocks*testBlock
	// Just short of that, the intent still counts and holds back the purchase.
	settle(t, p)
	e.clock.advance(unseenAfter - 2*testBlock)
	settle(t, p)
	require.Equal(t, 1, p.Status().Pending[17])
	require.Zero(t, e.sim.Stats().Requests["POST stamps"], "bought while an intent for the shortfall could still be on its way")

	// Past it, the shortfall is bought; the intent is no longer pending but still recorded.
	await(t, p, func() bool { return p.Status().Pending[17] == 0 }, "the unseen intent still counts as pending")
	require.Greater(t, e.clock.Now().Sub(started), unseenAfter)
	waitLevel(t, p, 17, 1)
	require.EqualValues(t, 1, e.sim.Stats().Requests["POST stamps"])
	require.Len(t, storedDoc(t, e).Intents, 1, "the intent left the ledger: a late batch would be lost")

	// Its batch shows up after all: adopted at the next check, not bought again.
	e.sim.CreateBatch(17, new(big.Int).Mul(big.NewInt(24000), big.NewInt(1_000_000)), label, true, false)
	await(t, p, func() bool {
		p.TriggerCheck()
		return p.Status().CurrentLevels[17] == 2
	}, "the late batch was not adopted")
	doc := storedDoc(t, e)
	require.Empty(t, doc.Intents)
	adopted := 0
	for _, r := range doc.Batches {
		if r.Label == label {
			adopted++
		}
	}
	require.Equal(t, 1, adopted)
	require.EqualValues(t, 1, e.sim.Stats().Requests["POST stamps"], "the killed purchase was bought again")
}

func storedDoc(t *testing.T, e *env) *ledgerDoc {
	t.Helper()
	key, _ := ledgerKeys("http://bee")
	raw, err := e.storage.Load(context.Background(), key)
	require.NoError(t, err)
	doc, err := decodeLedger(raw, key)
	require.NoError(t, err)
	return doc
}
