package pool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// refusingLocks is a storage whose first refusals Lock calls fail, as while a dead peer holds
// the ledger lock until its takeover.
type refusingLocks struct {
	Storage
	refusals atomic.Int64
}

func (s *refusingLocks) Lock(ctx context.Context, name string) error {
	if s.refusals.Add(-1) >= 0 {
		return errors.New("lock held by another instance")
	}
	return s.Storage.Lock(ctx, name)
}

// A sync that failed on the ledger (a peer's lock, a busy or unreadable file) is tried again
// within a second or so of the pool's time, not after a whole check interval: a gateway that
// starts beside a dead peer's lock would otherwise know nothing and buy nothing for an hour.
func TestFailedSyncIsRetriedSoon(t *testing.T) {
	e := newEnv(t, beesim.Options{})
	st := &refusingLocks{Storage: e.storage}
	st.refusals.Store(3)
	cfg := fastConfig(map[int]int{17: 1})
	cfg.CheckInterval = time.Hour
	p, err := New(cfg, Deps{Bee: e.client, Storage: st, NodeKey: "http://bee", Clock: e.clock})
	require.NoError(t, err)
	start := e.clock.Now()
	p.Start()
	t.Cleanup(p.Stop)
	await(t, p, func() bool { return p.Status().CurrentLevels[17] == 1 })
	require.Less(t, e.clock.Now().Sub(start), 10*time.Second, "the syncs after the refused locks waited %s of the pool's time", e.clock.Now().Sub(start))
}
