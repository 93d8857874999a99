package nodes

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

func TestAvoidanceLastsAvoidTime(t *testing.T) {
	var a Avoidance
	now := time.Unix(1000, 0)
	require.False(t, a.Avoided(now), "the zero value avoids nothing")
	a.Avoid(now)
	require.True(t, a.Avoided(now.Add(AvoidTime-time.Nanosecond)))
	require.False(t, a.Avoided(now.Add(AvoidTime)))
}

func TestLabelDefaultsAndRefusals(t *testing.T) {
	l, err := Label(2, "")
	require.NoError(t, err)
	require.Equal(t, "node3", l)
	l, err = Label(0, "eu-1.a_b")
	require.NoError(t, err)
	require.Equal(t, "eu-1.a_b", l)
	for _, bad := range []string{"-x", "a b", "ä", "x123456789012345678901234567890123"} {
		_, err := Label(0, bad)
		require.ErrorContains(t, err, "want 1-32 letters", bad)
	}
}

// poolless is a node that keeps no pool.
type poolless struct{ Avoidance }

func (*poolless) StampPool() *pool.Pool     { return nil }
func (*poolless) Usable(now time.Time) bool { return true }

func TestNodesWithoutPoolsTakeNoUpload(t *testing.T) {
	list := []*poolless{{}, {}}
	_, _, err := Choose(context.Background(), list, 7, 1, true, time.Now(), nil)
	require.ErrorIs(t, err, ErrNoNode)
	_, ok := Owner(context.Background(), list, "ab")
	require.False(t, ok)
}

type upstream struct {
	dial string
	up   bool
}

func (u *upstream) Available() bool { return u.up }

func dialOf(u *upstream) string { return u.dial }

func TestAvailabilityFollowsTheLastSeenUpstream(t *testing.T) {
	var a Availability[*upstream]
	require.True(t, a.Available("10.0.0.1:1633"), "unknown counts as available")
	old := &upstream{"10.0.0.1:1633", true}
	a.Observe([]*upstream{old}, dialOf)
	old.up = false
	require.False(t, a.Available("10.0.0.1:1633"))
	a.Observe([]*upstream{{"10.0.0.1:1633", true}}, dialOf) // a reload's new upstream
	require.True(t, a.Available("10.0.0.1:1633"))
}

func TestPinnedGoesToItsNodeOrNone(t *testing.T) {
	list := []*upstream{{"a:1", true}, {"b:1", false}}
	require.Same(t, list[0], Pinned(list, "a:1", dialOf))
	require.Nil(t, Pinned(list, "b:1", dialOf), "an unavailable pinned node: none")
	require.Nil(t, Pinned(list, "c:1", dialOf), "a pin to no upstream: none")
}
