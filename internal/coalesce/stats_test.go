package coalesce

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manualClock is an injected clock the test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestStatsJSONHasExactlyTheSpecFields(t *testing.T) {
	raw, err := json.Marshal(New(Options{}).Stats())
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"avg_wait_ms", "coalesced_requests", "hit_rate_percent", "max_concurrent_waiters",
		"pending_keys", "status", "total_requests", "upstream_requests"}, keys)
	assert.Equal(t, StatusHealthy, doc["status"])
}

func TestStatsAverageWaitUsesTheInjectedClock(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := New(Options{Now: clock.Now})
	gt := newGate()
	leader := serveAsync(g, newTestWriter(), get("http://gw/bzz/w"), gt.upstream)
	gt.call(t)
	follower := serveAsync(g, newTestWriter(), get("http://gw/bzz/w"), gt.upstream)
	waitFor(t, "the follower to join", func() bool { return g.waitersOn(get("http://gw/bzz/w")) == 2 })
	// Headers are already out, so the follower sees them on arrival: wait 0.
	close(gt.release)
	await(t, leader)
	await(t, follower)
	assert.Equal(t, 0.0, g.Stats().AvgWaitMs)

	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error { <-release; return nil }
	leader = serveAsync(g, newTestWriter(), get("http://gw/bzz/w2"), up)
	follower = serveAsync(g, newTestWriter(), get("http://gw/bzz/w2"), up)
	waitFor(t, "the follower to join", func() bool { return g.waitersOn(get("http://gw/bzz/w2")) == 2 })
	clock.Advance(300 * time.Millisecond)
	close(release)
	await(t, leader)
	await(t, follower)
	s := g.Stats()
	assert.Equal(t, 150.0, s.AvgWaitMs, "(0 + 300) / 2 followers")
	assert.Equal(t, int64(2), s.CoalescedRequests)
	assert.Equal(t, int64(4), s.TotalRequests)
	assert.Equal(t, 50.0, s.HitRatePercent)
}

func TestStatusFollowsRecentProblems(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := New(Options{Now: clock.Now})
	ok := func(w http.ResponseWriter, r *http.Request) error { return nil }
	failing := func(w http.ResponseWriter, r *http.Request) error { return errors.New("bee unreachable") }

	for range 20 {
		require.NoError(t, g.ServeHTTP(newTestWriter(), get("http://gw/bzz/ok"), ok))
	}
	assert.Equal(t, StatusHealthy, g.Stats().Status)

	for i := range 3 {
		require.Error(t, g.ServeHTTP(newTestWriter(), get(fmt.Sprintf("http://gw/bzz/bad/%d", i)), failing))
	}
	assert.Equal(t, StatusWarning, g.Stats().Status, "3 problems in 23 outcomes")

	for i := range 17 {
		require.Error(t, g.ServeHTTP(newTestWriter(), get(fmt.Sprintf("http://gw/bzz/bad/x%d", i)), failing))
	}
	assert.Equal(t, StatusDegraded, g.Stats().Status, "20 problems in 40 outcomes")

	clock.Advance(HealthWindow + time.Minute)
	assert.Equal(t, StatusHealthy, g.Stats().Status, "problems age out of the window")
	assert.Equal(t, int64(40), g.Stats().UpstreamRequests, "counters do not age")
}

func TestStatusWarnsOnManyPendingKeys(t *testing.T) {
	g := New(Options{})
	gt := newGate()
	var chans []<-chan result
	for i := range WarnPendingKeys {
		chans = append(chans, serveAsync(g, newTestWriter(), get("http://gw/bzz/"+string(rune('a'+i%26))+"/"+time.Duration(i).String()), gt.upstream))
	}
	for range WarnPendingKeys {
		gt.call(t)
	}
	assert.Equal(t, WarnPendingKeys, g.Stats().PendingKeys)
	assert.Equal(t, StatusWarning, g.Stats().Status)
	close(gt.release)
	for _, ch := range chans {
		require.NoError(t, await(t, ch).err)
	}
	assert.Equal(t, StatusHealthy, g.Stats().Status)
}

// Issue 21: the story configures max_wait_seconds 5; safe now that followers of a stuck
// leader share one retry.
func TestMaxWaitIsFiveSecondsByDefault(t *testing.T) {
	require.Equal(t, 5*time.Second, New(Options{}).opts.MaxWait)
	require.Equal(t, DefaultMaxWait, 5*time.Second)
}
