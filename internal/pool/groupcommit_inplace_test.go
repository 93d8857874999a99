package pool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// One commit applies in-place and copied updates in queue order; a copied update that fails
// after changing its copy leaves nothing behind, and an in-place one that fails (before any
// change, as it must) leaves the others' changes alone.
func TestGroupCommitMixesInPlaceAndCopiedUpdates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Reserve = map[int]int{17: 1}
	st := newMemStorage()
	p, err := New(cfg, Deps{Bee: noBee{}, Storage: st, NodeKey: "http://bee"})
	require.NoError(t, err)
	defer p.gc.stop()
	ctx := context.Background()
	require.NoError(t, p.update(ctx, func(d *ledgerDoc) error {
		for _, id := range []string{"a", "b", "c", "d"} {
			d.Batches = append(d.Batches, &record{ID: id, Depth: 17, State: Reserve, BoughtAt: time.Now()})
		}
		return nil
	}))
	stores := st.Stores()

	failed := errors.New("refused")
	type call struct {
		inPlace bool
		fn      func(*ledgerDoc) error
		want    error
	}
	calls := []call{
		{true, func(d *ledgerDoc) error { d.find("a").State = Issued; return nil }, nil},
		{false, func(d *ledgerDoc) error { d.find("b").State = Issued; return failed }, failed}, // rolled back
		{true, func(d *ledgerDoc) error { return ErrEmpty }, ErrEmpty},
		{false, func(d *ledgerDoc) error { d.find("c").State = Active; return nil }, nil},
		{true, func(d *ledgerDoc) error { d.find("d").State = Issued; return nil }, nil},
	}
	// Hold the committer back until every update waits in the queue: one commit takes them all.
	p.updateMu.Lock()
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			if c.inPlace {
				errs[i] = p.updateInPlace(ctx, c.fn)
			} else {
				errs[i] = p.update(ctx, c.fn)
			}
		})
		require.Eventually(t, func() bool { // queued in this order
			p.gc.mu.Lock()
			defer p.gc.mu.Unlock()
			return len(p.gc.queue) == i+1
		}, 5*time.Second, time.Millisecond)
	}
	p.updateMu.Unlock()
	wg.Wait()
	for i, c := range calls {
		require.ErrorIs(t, errs[i], c.want, "update %d", i)
		if c.want == nil {
			require.NoError(t, errs[i], "update %d", i)
		}
	}
	require.Equal(t, stores+1, st.Stores(), "one write for all five")

	p.updateMu.Lock() // the committer may still be unlocking
	doc, err := p.loadLedger(ctx)
	p.updateMu.Unlock()
	require.NoError(t, err)
	for id, want := range map[string]State{"a": Issued, "b": Reserve, "c": Active, "d": Issued} {
		require.Equal(t, want, doc.find(id).State, "batch %s", id)
	}
}
