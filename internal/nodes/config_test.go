package nodes

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

type config = Config[time.Duration]

// Resolve normalises the single URL or the nodes list, defaults labels, and refuses
// duplicates, bad labels, bad pool blocks and both forms at once.
func TestResolve(t *testing.T) {
	u, list, err := Resolve[time.Duration]("127.0.0.1:1633", nil)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1633", u)
	require.Nil(t, list)
	_, _, err = Resolve[time.Duration]("ftp://x", nil)
	require.ErrorContains(t, err, "bee_url: ")

	_, list, err = Resolve("", []config{{URL: "a:1"}, {URL: "https://b:2", Label: "east"}})
	require.NoError(t, err)
	require.Equal(t, []config{{URL: "http://a:1", Label: "node1"}, {URL: "https://b:2", Label: "east"}}, list)

	for _, c := range []struct {
		beeURL string
		list   []config
		want   string
	}{
		{"http://c:3", []config{{URL: "a:1"}}, `bee_url "http://c:3" and nodes are both set`},
		{"", []config{{URL: "a:1"}, {URL: "http://a:1"}}, "node http://a:1 listed twice"},
		{"", []config{{URL: "a:1", Label: "x"}, {URL: "b:1", Label: "x"}}, `node label "x" used twice`},
		{"", []config{{URL: "a:1"}, {URL: "b:1", Label: "-x"}}, `node 2 label "-x": want 1-32 letters`},
		{"", []config{{URL: "a:1/path"}}, "node 1 url: "},
		{"", []config{{URL: "a:1", Pool: &pool.Block[time.Duration]{Reserve: map[int]int{16: 1}}}}, "node node1: pool reserve depth 16"},
	} {
		_, _, err := Resolve(c.beeURL, c.list)
		require.ErrorContains(t, err, c.want)
	}
}

// Plans resolves each pool block once: a node's own block wins over the shared one, a node
// without either keeps no pool, and sizes is the shared configuration or else the first one.
func TestPlans(t *testing.T) {
	plans, sizes, err := Plans[time.Duration](nil, "http://a:1", nil)
	require.NoError(t, err)
	require.Nil(t, plans, "no pool block, no node to run")
	require.Nil(t, sizes)

	_, _, err = Plans(&pool.Block[time.Duration]{}, "", nil)
	require.EqualError(t, err, "pool needs bee_url, the Bee API the pool buys from")

	plans, sizes, err = Plans(&pool.Block[time.Duration]{}, "http://a:1", nil)
	require.NoError(t, err)
	require.Equal(t, []Plan{{URL: "http://a:1", Pool: sizes}}, plans)
	require.Equal(t, pool.DefaultConfig(), *sizes)

	own := &pool.Block[time.Duration]{Reserve: map[int]int{24: 2}}
	plans, sizes, err = Plans(nil, "", []config{{URL: "http://a:1", Label: "a"}, {URL: "http://b:1", Label: "b", Pool: own}})
	require.NoError(t, err)
	require.Len(t, plans, 2)
	require.Nil(t, plans[0].Pool, "neither a shared nor an own block")
	require.Equal(t, map[int]int{24: 2}, plans[1].Pool.Reserve)
	require.Same(t, plans[1].Pool, sizes, "the first node with a pool names the sizes")

	shared := &pool.Block[time.Duration]{Reserve: map[int]int{18: 1}}
	plans, sizes, err = Plans(shared, "", []config{{URL: "http://a:1", Label: "a"}, {URL: "http://b:1", Label: "b", Pool: own}})
	require.NoError(t, err)
	require.Same(t, sizes, plans[0].Pool, "the shared block names the sizes")
	require.Equal(t, map[int]int{18: 1}, sizes.Reserve)
	require.Equal(t, map[int]int{24: 2}, plans[1].Pool.Reserve)

	_, _, err = Plans(nil, "", []config{{URL: "http://a:1", Label: "a", Pool: &pool.Block[time.Duration]{UsageMax: 2}}})
	require.ErrorContains(t, err, "node a: pool: usage_max 2")
}

// A member is usable when the proxy reaches it and no upload failed there lately.
func TestMemberUsable(t *testing.T) {
	reachable := map[string]bool{"a:1": true}
	m := NewMember(Plan{URL: "http://a:1", Label: "a"}, nil, func(dial string) bool { return reachable[dial] })
	require.Equal(t, "a:1", m.Dial)
	require.Equal(t, "a", m.Name())
	now := time.Unix(1000, 0)
	require.True(t, m.Usable(now))
	m.Avoid(now)
	require.False(t, m.Usable(now))
	require.True(t, m.Usable(now.Add(AvoidTime)))
	reachable["a:1"] = false
	require.False(t, m.Usable(now.Add(AvoidTime)))
}
