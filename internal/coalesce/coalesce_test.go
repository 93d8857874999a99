package coalesce

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThousandIdenticalGETsShareOneUpstream(t *testing.T) {
	const waiters = 1000
	body := pattern(200 << 10) // beyond the window: memory and temp file both serve
	obs := &countingObserver{}
	g := New(Options{MemoryWindow: 64 << 10, TempDir: t.TempDir(), Observer: obs})
	var calls atomic.Int32
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		calls.Add(1)
		<-release // slow upstream: everyone arrives before the first byte
		w.Header().Set("Content-Type", "application/octet-stream")
		for chunk := range slices.Chunk(body, 32<<10) {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		return nil
	}

	results := make([]<-chan result, waiters)
	for i := range results {
		results[i] = serveAsync(g, newTestWriter(), get("http://gw/bzz/abc/"), up)
	}
	waitFor(t, "every request to join the flight", func() bool { return g.waitersOn(get("http://gw/bzz/abc/")) == waiters })
	close(release)

	for i, ch := range results {
		res := await(t, ch)
		require.NoError(t, res.err, "waiter %d", i)
		require.Equal(t, http.StatusOK, res.w.Status(), "waiter %d", i)
		require.Equal(t, "application/octet-stream", res.w.Header().Get("Content-Type"))
		require.True(t, bytes.Equal(body, res.w.Body()), "waiter %d got a different body (%d bytes)", i, res.w.Len())
	}
	assert.Equal(t, int32(1), calls.Load(), "upstream calls")

	o := obs.snapshot()
	assert.Equal(t, 1, o.leaders)
	assert.Equal(t, waiters-1, o.followers)
	assert.Equal(t, 1, o.upstreams)
	assert.Equal(t, int64(len(body))*(waiters-1), o.shared)

	s := g.Stats()
	assert.Equal(t, int64(waiters), s.TotalRequests)
	assert.Equal(t, int64(waiters-1), s.CoalescedRequests)
	assert.Equal(t, int64(1), s.UpstreamRequests)
	assert.Equal(t, int64(waiters), s.MaxConcurrentWaiters)
	assert.Equal(t, 0, s.PendingKeys)
	assert.InDelta(t, 99.9, s.HitRatePercent, 0.001)
	assert.Equal(t, StatusHealthy, s.Status)
}

func TestLeaderClientGoneFollowersStillSucceed(t *testing.T) {
	g := New(Options{MemoryWindow: 64, TempDir: t.TempDir()})
	gt := newGate()
	leaderCtx, leaderGone := context.WithCancel(context.Background())
	leader := serveAsync(g, newTestWriter(), httpRequest(leaderCtx, http.MethodGet, "http://gw/bytes/x"), gt.upstream)
	upReq := gt.call(t)
	follower := serveAsync(g, newTestWriter(), get("http://gw/bytes/x"), gt.upstream)
	waitFor(t, "the follower to join", func() bool { return g.waitersOn(get("http://gw/bytes/x")) == 2 })

	body := pattern(1000)
	gt.send(t, body[:100])
	leaderGone()
	res := await(t, leader)
	require.ErrorIs(t, res.err, context.Canceled, "the leader's own response ends with its client")

	require.NoError(t, upReq.Context().Err(), "the upstream request must outlive the leader's client")
	gt.send(t, body[100:])
	close(gt.release)
	res = await(t, follower)
	require.NoError(t, res.err)
	require.Equal(t, body, res.w.Body())
}

func TestLeaderWriterFailsFollowersStillSucceed(t *testing.T) {
	g := New(Options{TempDir: t.TempDir()})
	gt := newGate()
	broken := newTestWriter()
	broken.beforeWrite = func([]byte) error { return errors.New("connection reset by peer") }
	leader := serveAsync(g, broken, get("http://gw/bytes/x"), gt.upstream)
	gt.call(t)
	follower := serveAsync(g, newTestWriter(), get("http://gw/bytes/x"), gt.upstream)
	waitFor(t, "the follower to join", func() bool { return g.waitersOn(get("http://gw/bytes/x")) == 2 })

	gt.send(t, []byte("hello "))
	res := await(t, leader)
	require.ErrorContains(t, res.err, "connection reset by peer")
	gt.send(t, []byte("world"))
	close(gt.release)
	res = await(t, follower)
	require.NoError(t, res.err)
	require.Equal(t, "hello world", string(res.w.Body()))
}

func TestEveryWaiterGoneCancelsUpstream(t *testing.T) {
	g := New(Options{TempDir: t.TempDir()})
	gt := newGate()
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	first := serveAsync(g, newTestWriter(), httpRequest(ctx1, http.MethodGet, "http://gw/bzz/y"), gt.upstream)
	upReq := gt.call(t)
	second := serveAsync(g, newTestWriter(), httpRequest(ctx2, http.MethodGet, "http://gw/bzz/y"), gt.upstream)
	waitFor(t, "the follower to join", func() bool { return g.waitersOn(get("http://gw/bzz/y")) == 2 })

	cancel1()
	await(t, first)
	require.NoError(t, upReq.Context().Err(), "one waiter is left")
	cancel2()
	await(t, second)
	select {
	case <-upReq.Context().Done():
	case <-time.After(patience):
		t.Fatal("upstream not cancelled after every waiter left")
	}
	require.ErrorIs(t, context.Cause(upReq.Context()), errFlightAbandoned)
	waitFor(t, "the flight to end", func() bool { return g.Stats().PendingKeys == 0 })

	// A new request starts afresh rather than joining the cancelled flight.
	gt2 := newGate()
	again := serveAsync(g, newTestWriter(), get("http://gw/bzz/y"), gt2.upstream)
	gt2.call(t)
	close(gt2.release)
	require.NoError(t, await(t, again).err)
}

func TestLateJoinerGetsWholeBodyFromByteZero(t *testing.T) {
	for _, window := range []int64{1 << 20, 100} { // all in memory; mostly spilled
		g := New(Options{MemoryWindow: window, TempDir: t.TempDir()})
		gt := newGate()
		body := pattern(5000)
		early := newTestWriter()
		leader := serveAsync(g, early, get("http://gw/bytes/late"), gt.upstream)
		gt.call(t)
		gt.send(t, body[:3000])
		early.waitLen(t, 3000)

		late := serveAsync(g, newTestWriter(), get("http://gw/bytes/late"), gt.upstream)
		waitFor(t, "the late joiner to join", func() bool { return g.waitersOn(get("http://gw/bytes/late")) == 2 })
		gt.send(t, body[3000:])
		close(gt.release)
		for _, ch := range []<-chan result{leader, late} {
			res := await(t, ch)
			require.NoError(t, res.err)
			require.Equal(t, body, res.w.Body(), "window %d", window)
		}
		require.Len(t, gt.calls, 0, "no second upstream call")
	}
}

func TestSlowReaderDoesNotDelayOthers(t *testing.T) {
	g := New(Options{MemoryWindow: 4 << 10, TempDir: t.TempDir()})
	body := pattern(1 << 20)
	upstreamDone := make(chan struct{})
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		defer close(upstreamDone)
		<-release
		for chunk := range slices.Chunk(body, 8<<10) {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		return nil
	}
	unblockSlow := make(chan struct{})
	slow := newTestWriter()
	var slowStarted sync.Once
	slowBlocked := make(chan struct{})
	slow.beforeWrite = func([]byte) error {
		slowStarted.Do(func() { close(slowBlocked) })
		<-unblockSlow
		return nil
	}
	slowDone := serveAsync(g, slow, get("http://gw/bytes/s"), up)
	fastDone := serveAsync(g, newTestWriter(), get("http://gw/bytes/s"), up)
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bytes/s")) == 2 })
	close(release)

	<-slowBlocked
	res := await(t, fastDone) // finishes while the slow reader is stuck on its first write
	require.NoError(t, res.err)
	require.Equal(t, body, res.w.Body())
	select {
	case <-upstreamDone:
	case <-slowDone:
		t.Fatal("the slow reader finished while blocked")
	}
	close(unblockSlow)
	res = await(t, slowDone)
	require.NoError(t, res.err)
	require.Equal(t, body, res.w.Body())
}

func TestUpstreamErrorBeforeHeadersReachesEveryWaiter(t *testing.T) {
	g := New(Options{TempDir: t.TempDir()})
	bad := errors.New("dial tcp 127.0.0.1:1633: connection refused")
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error { <-release; return bad }
	var chans []<-chan result
	for range 5 {
		chans = append(chans, serveAsync(g, newTestWriter(), get("http://gw/bzz/e"), up))
	}
	waitFor(t, "all to join", func() bool { return g.waitersOn(get("http://gw/bzz/e")) == 5 })
	close(release)
	for _, ch := range chans {
		res := await(t, ch)
		require.Same(t, bad, res.err, "the upstream's own error, unwrapped, for each waiter")
		require.Zero(t, res.w.Status(), "nothing written: the caller's error handling answers")
	}
}

func TestUpstreamErrorStatusReachesEveryWaiterAsIs(t *testing.T) {
	g := New(Options{TempDir: t.TempDir()})
	gt := newGate()
	gt.status = http.StatusNotFound
	gt.header = http.Header{"Content-Type": {"application/json"}}
	a := serveAsync(g, newTestWriter(), get("http://gw/bzz/missing"), gt.upstream)
	gt.call(t)
	b := serveAsync(g, newTestWriter(), get("http://gw/bzz/missing"), gt.upstream)
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bzz/missing")) == 2 })
	gt.send(t, []byte(`{"code":404,"message":"Not Found"}`))
	close(gt.release)
	for _, ch := range []<-chan result{a, b} {
		res := await(t, ch)
		require.NoError(t, res.err)
		require.Equal(t, http.StatusNotFound, res.w.Status())
		require.Equal(t, "application/json", res.w.Header().Get("Content-Type"))
		require.JSONEq(t, `{"code":404,"message":"Not Found"}`, string(res.w.Body()))
	}
}

func TestMidStreamCutIsSeenByEveryWaiter(t *testing.T) {
	cuts := map[string]func(w http.ResponseWriter) error{
		"panic ErrAbortHandler (Caddy reverse_proxy)": func(http.ResponseWriter) error { panic(http.ErrAbortHandler) },
		"error after headers":                         func(http.ResponseWriter) error { return errors.New("unexpected EOF") },
		"body shorter than Content-Length":            func(http.ResponseWriter) error { return nil },
		"panic with a value":                          func(http.ResponseWriter) error { panic("nil map") },
	}
	for name, cut := range cuts {
		t.Run(name, func(t *testing.T) {
			g := New(Options{MemoryWindow: 10, TempDir: t.TempDir()})
			release := make(chan struct{})
			up := func(w http.ResponseWriter, r *http.Request) error {
				<-release
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte("partial body"))
				return cut(w)
			}
			var chans []<-chan result
			for range 3 {
				chans = append(chans, serveAsync(g, newTestWriter(), get("http://gw/bytes/cut"), up))
			}
			waitFor(t, "all to join", func() bool { return g.waitersOn(get("http://gw/bytes/cut")) == 3 })
			close(release)
			for _, ch := range chans {
				res := await(t, ch)
				require.ErrorIs(t, res.err, ErrUpstreamAborted)
				require.Equal(t, "partial body", string(res.w.Body()), "what was there is written first")
			}
			require.Equal(t, StatusWarning, g.Stats().Status, "one failed flight of one")
		})
	}
}

func TestUpstreamPanicBeforeHeadersIsAbortForEveryWaiter(t *testing.T) {
	g := New(Options{TempDir: t.TempDir()})
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error { <-release; panic("boom") }
	a := serveAsync(g, newTestWriter(), get("http://gw/bzz/p"), up)
	b := serveAsync(g, newTestWriter(), get("http://gw/bzz/p"), up)
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bzz/p")) == 2 })
	close(release)
	for _, ch := range []<-chan result{a, b} {
		res := await(t, ch)
		require.ErrorIs(t, res.err, ErrUpstreamAborted)
		require.ErrorContains(t, res.err, "boom")
	}
}

func TestWaiterPanicAffectsNoOther(t *testing.T) {
	dir := t.TempDir()
	g := New(Options{MemoryWindow: 16, TempDir: dir})
	gt := newGate()
	panicky := newTestWriter()
	panicky.beforeWrite = func([]byte) error { panic("waiter's writer exploded") }
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_ = g.ServeHTTP(panicky, get("http://gw/bytes/w"), gt.upstream)
	}()
	gt.call(t)
	calm := serveAsync(g, newTestWriter(), get("http://gw/bytes/w"), gt.upstream)
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bytes/w")) == 2 })
	body := pattern(200)
	gt.send(t, body[:50])
	require.Equal(t, "waiter's writer exploded", <-panicked)
	gt.send(t, body[50:])
	close(gt.release)
	res := await(t, calm)
	require.NoError(t, res.err)
	require.Equal(t, body, res.w.Body())
	waitFor(t, "the temp file to go", func() bool { entries, _ := os.ReadDir(dir); return len(entries) == 0 })
	require.Equal(t, 0, g.Stats().PendingKeys)
}

func TestFollowerGoesAloneAfterMaxWait(t *testing.T) {
	obs := &countingObserver{}
	g := New(Options{MaxWait: 20e6, TempDir: t.TempDir(), Observer: obs}) // 20ms
	var calls atomic.Int32
	leaderMayAnswer := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		if calls.Add(1) == 1 {
			<-leaderMayAnswer // the leader's upstream hangs past the follower's max_wait
			_, err := w.Write([]byte("leader"))
			return err
		}
		_, err := w.Write([]byte("alone"))
		return err
	}
	leader := serveAsync(g, newTestWriter(), get("http://gw/bzz/slow"), up)
	waitFor(t, "the leader's upstream", func() bool { return calls.Load() == 1 })
	res := await(t, serveAsync(g, newTestWriter(), get("http://gw/bzz/slow"), up))
	require.NoError(t, res.err)
	require.Equal(t, "alone", string(res.w.Body()))
	close(leaderMayAnswer)
	res = await(t, leader)
	require.NoError(t, res.err)
	require.Equal(t, "leader", string(res.w.Body()))

	o := obs.snapshot()
	require.Equal(t, 1, o.timeouts)
	require.Equal(t, 2, o.upstreams)
	s := g.Stats()
	require.Equal(t, int64(2), s.UpstreamRequests)
	require.Equal(t, int64(0), s.CoalescedRequests)
}

func TestDifferentRequestsGetSeparateFlights(t *testing.T) {
	pairs := map[string][2]*http.Request{
		"Range":        {withHeader(get("http://gw/bytes/r"), "Range", "bytes=0-9"), withHeader(get("http://gw/bytes/r"), "Range", "bytes=10-19")},
		"Swarm-*":      {withHeader(get("http://gw/bzz/r"), "Swarm-Redundancy-Strategy", "0"), withHeader(get("http://gw/bzz/r"), "Swarm-Redundancy-Strategy", "1")},
		"Swarm-* set":  {get("http://gw/bzz/r"), withHeader(get("http://gw/bzz/r"), "Swarm-Chunk-Retrieval-Timeout", "5s")},
		"HEAD and GET": {get("http://gw/bzz/r"), httpRequest(context.Background(), http.MethodHead, "http://gw/bzz/r")},
		"query":        {get("http://gw/bzz/r?a=1"), get("http://gw/bzz/r?a=2")},
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			g := New(Options{TempDir: t.TempDir()})
			gt := newGate()
			a := serveAsync(g, newTestWriter(), pair[0], gt.upstream)
			b := serveAsync(g, newTestWriter(), pair[1], gt.upstream)
			gt.call(t)
			gt.call(t) // a shared flight would never make this second call
			close(gt.release)
			require.NoError(t, await(t, a).err)
			require.NoError(t, await(t, b).err)
		})
	}
}

func TestPrivateAndStreamingRequestsBypass(t *testing.T) {
	cases := map[string]*http.Request{
		"Authorization": withHeader(get("http://gw/bzz/b"), "Authorization", "Bearer x"),
		"Cookie":        withHeader(get("http://gw/bzz/b"), "Cookie", "a=b"),
		"Upgrade":       withHeader(get("http://gw/chunks/stream"), "Upgrade", "websocket"),
		"event stream":  withHeader(get("http://gw/bzz/b"), "Accept", "text/event-stream"),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			obs := &countingObserver{}
			g := New(Options{Observer: obs})
			var seen []*http.Request
			var mu sync.Mutex
			up := func(w http.ResponseWriter, got *http.Request) error {
				mu.Lock()
				seen = append(seen, got)
				mu.Unlock()
				return nil
			}
			for range 3 {
				require.NoError(t, g.ServeHTTP(newTestWriter(), r, up))
			}
			require.Len(t, seen, 3, "each request goes upstream")
			require.Same(t, r, seen[0], "the request itself, not a detached copy")
			require.Equal(t, 3, obs.snapshot().bypasses)
			require.Equal(t, int64(3), g.Stats().UpstreamRequests)
		})
	}
}

func TestTempFileRemovedAfterLastReader(t *testing.T) {
	dir := t.TempDir()
	g := New(Options{MemoryWindow: 1024, TempDir: dir})
	body := pattern(64 << 10)
	release := make(chan struct{})
	upstreamDone := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		defer close(upstreamDone)
		<-release
		_, err := w.Write(body)
		return err
	}
	unblock := make(chan struct{})
	slow := newTestWriter()
	slow.beforeWrite = func([]byte) error { <-unblock; return nil }
	done := serveAsync(g, slow, get("http://gw/bytes/t"), up)
	fast := serveAsync(g, newTestWriter(), get("http://gw/bytes/t"), up)
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bytes/t")) == 2 })
	close(release)

	<-upstreamDone
	require.NoError(t, await(t, fast).err)
	waitFor(t, "the flight to end upstream", func() bool { return g.Stats().PendingKeys == 0 })
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the spill file lives while a reader still drains it")

	close(unblock)
	res := await(t, done)
	require.NoError(t, res.err)
	require.Equal(t, body, res.w.Body())
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the spill file goes with the last reader")
	require.Zero(t, g.spill.used.Load(), "spill bytes released")
	require.Zero(t, g.mem.used.Load(), "memory released")
}

// A flight with one reader holds no window and no spill: the upstream writes straight
// to the client, and waits for it.
func TestSingleReaderStreamsStraightThrough(t *testing.T) {
	dir := t.TempDir()
	obs := &countingObserver{}
	g := New(Options{MemoryWindow: 1024, TempDir: dir, Observer: obs})
	body := pattern(256 << 10)
	wrote := make(chan int, 1)
	up := func(w http.ResponseWriter, r *http.Request) error {
		for chunk := range slices.Chunk(body, 32<<10) {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
			select {
			case wrote <- len(chunk):
			default:
			}
		}
		return nil
	}
	unblock := make(chan struct{})
	var writes atomic.Int32
	client := newTestWriter()
	client.beforeWrite = func([]byte) error {
		if writes.Add(1) == 3 {
			<-unblock // the client stops reading after two writes
		}
		return nil
	}
	done := serveAsync(g, client, get("http://gw/bytes/one"), up)
	waitFor(t, "the client to stall", func() bool { return writes.Load() == 3 })
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "no spill for a single reader")
	require.Equal(t, 2*32<<10, client.Len(), "the upstream waits for the client")
	require.Zero(t, g.mem.used.Load(), "the join prefix is dropped once the body outgrows it")
	close(unblock)
	res := await(t, done)
	require.NoError(t, res.err)
	require.Equal(t, body, res.w.Body())
	require.Zero(t, obs.snapshot().memory)
}

func TestNothingCachedAfterFlightEnds(t *testing.T) {
	g := New(Options{})
	var calls atomic.Int32
	up := func(w http.ResponseWriter, r *http.Request) error {
		calls.Add(1)
		_, err := w.Write([]byte("x"))
		return err
	}
	for range 3 {
		require.NoError(t, g.ServeHTTP(newTestWriter(), get("http://gw/bzz/n"), up))
	}
	require.Equal(t, int32(3), calls.Load())
}

func TestSetCookieIsOnlyForTheLeader(t *testing.T) {
	g := New(Options{})
	gt := newGate()
	gt.header = http.Header{"Set-Cookie": {"session=leader"}, "Etag": {`"abc"`}}
	leader := serveAsync(g, newTestWriter(), get("http://gw/bzz/c"), gt.upstream)
	gt.call(t)
	follower := serveAsync(g, newTestWriter(), get("http://gw/bzz/c"), gt.upstream)
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bzz/c")) == 2 })
	close(gt.release)
	lr, fr := await(t, leader), await(t, follower)
	require.Equal(t, "session=leader", lr.w.Header().Get("Set-Cookie"))
	require.Empty(t, fr.w.Header().Values("Set-Cookie"))
	require.Equal(t, `"abc"`, fr.w.Header().Get("Etag"))
}

// Caddy's server puts "Server: Caddy" on every answer and reverse_proxy deletes it from the
// writer it is given, so that an upstream answer carries the upstream's Server or none:
// every waiter's answer does the same, unshared or shared.
func TestUpstreamAnswerReplacesTheServersServerHeader(t *testing.T) {
	for _, upstreamServer := range []string{"", "bee"} {
		g := New(Options{})
		gt := newGate()
		gt.header = http.Header{"Etag": {`"abc"`}}
		if upstreamServer != "" {
			gt.header.Set("Server", upstreamServer)
		}
		caddyWriter := func() *testWriter {
			w := newTestWriter()
			w.Header().Set("Server", "Caddy")
			return w
		}
		leader := serveAsync(g, caddyWriter(), get("http://gw/bzz/s"), gt.upstream)
		gt.call(t)
		follower := serveAsync(g, caddyWriter(), get("http://gw/bzz/s"), gt.upstream)
		waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bzz/s")) == 2 })
		close(gt.release)
		for _, res := range []result{await(t, leader), await(t, follower)} {
			require.NoError(t, res.err)
			require.Equal(t, upstreamServer, strings.Join(res.w.Header().Values("Server"), ","))
		}
		alone := caddyWriter()
		require.NoError(t, g.ServeHTTP(alone, get("http://gw/bzz/alone"), func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusOK)
			return nil
		}))
		require.Empty(t, alone.Header().Values("Server"), "unshared (the leader's direct path)")
	}
}

func TestWaitersOwnTheirHeaderMaps(t *testing.T) {
	g := New(Options{})
	gt := newGate()
	gt.header = http.Header{"X-Shared": {"one"}}
	var chans []<-chan result
	for range 4 {
		w := newTestWriter()
		w.beforeWrite = func([]byte) error {
			w.Header().Add("X-Shared", "mine") // would race or leak if maps or slices were shared
			return nil
		}
		chans = append(chans, serveAsync(g, w, get("http://gw/bzz/h"), gt.upstream))
	}
	gt.call(t)
	waitFor(t, "all to join", func() bool { return g.waitersOn(get("http://gw/bzz/h")) == 4 })
	gt.send(t, []byte("a"))
	gt.send(t, []byte("b"))
	close(gt.release)
	for _, ch := range chans {
		res := await(t, ch)
		require.NoError(t, res.err)
		values := res.w.Header().Values("X-Shared")
		require.Equal(t, "one", values[0])
		for _, v := range values[1:] {
			require.Equal(t, "mine", v, "another waiter's value leaked in")
		}
	}
}

type ctxKey struct{}

func TestUpstreamKeepsRequestValuesButNotCancellation(t *testing.T) {
	g := New(Options{})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "caddy vars"))
	defer cancel()
	var got any
	up := func(w http.ResponseWriter, r *http.Request) error {
		got = r.Context().Value(ctxKey{})
		return nil
	}
	require.NoError(t, g.ServeHTTP(newTestWriter(), httpRequest(ctx, http.MethodGet, "http://gw/bzz/v"), up))
	require.Equal(t, "caddy vars", got)
}

func TestClosedGroupSendsEverythingStraightUpstream(t *testing.T) {
	g := New(Options{})
	gt := newGate()
	inFlight := serveAsync(g, newTestWriter(), get("http://gw/bzz/z"), gt.upstream)
	gt.call(t)
	g.Close()
	r := get("http://gw/bzz/z")
	var direct *http.Request
	require.NoError(t, g.ServeHTTP(newTestWriter(), r, func(w http.ResponseWriter, got *http.Request) error { direct = got; return nil }))
	require.Same(t, r, direct)
	gt.send(t, []byte("still served"))
	close(gt.release)
	res := await(t, inFlight)
	require.NoError(t, res.err)
	require.Equal(t, "still served", string(res.w.Body()))
}

func TestEmptyUpstreamAnswerIsAnEmpty200(t *testing.T) {
	g := New(Options{})
	w := newTestWriter()
	require.NoError(t, g.ServeHTTP(w, get("http://gw/bzz/empty"), func(http.ResponseWriter, *http.Request) error { return nil }))
	require.Equal(t, http.StatusOK, w.Status())
	require.Empty(t, w.Body())
}

func withHeader(r *http.Request, name, value string) *http.Request {
	r.Header.Set(name, value)
	return r
}

// A spill that cannot be stored ends the flight as cut, even when the upstream ignores
// the write error, and no later byte lands out of place.
func TestSpillFailureIsAnAbortEvenIfUpstreamIgnoresIt(t *testing.T) {
	missing := t.TempDir() + "/does-not-exist"
	g := New(Options{MemoryWindow: 10, TempDir: missing})
	var errs []error
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		<-release
		for range 3 {
			_, err := w.Write([]byte("0123456789abcdef"))
			errs = append(errs, err)
		}
		return nil
	}
	a := serveAsync(g, newTestWriter(), get("http://gw/bytes/spill"), up)
	b := serveAsync(g, newTestWriter(), get("http://gw/bytes/spill"), up) // shared: a spool
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bytes/spill")) == 2 })
	close(release)
	for _, ch := range []<-chan result{a, b} {
		res := await(t, ch)
		require.ErrorIs(t, res.err, ErrUpstreamAborted)
		require.ErrorContains(t, res.err, "temp file")
		require.Equal(t, "0123456789", string(res.w.Body()), "only what was stored in order")
	}
	require.Len(t, errs, 3)
	for _, e := range errs {
		require.Error(t, e)
	}
}

func TestFlightValuesMakeTheUpstreamsContext(t *testing.T) {
	type key struct{}
	g := New(Options{FlightValues: func(ctx context.Context) context.Context {
		return context.WithValue(ctx, key{}, "the flight's")
	}})
	var got any
	require.NoError(t, g.ServeHTTP(newTestWriter(), get("http://gw/bzz/v"), func(w http.ResponseWriter, r *http.Request) error {
		got = r.Context().Value(key{})
		w.WriteHeader(http.StatusOK)
		return nil
	}))
	require.Equal(t, "the flight's", got)
}
