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
	_, _, err := Choose(context.Background(), list, 7, 1, time.Now(), nil)
	require.ErrorIs(t, err, ErrNoNode)
	_, ok := Owner(context.Background(), list, "ab")
	require.False(t, ok)
}
