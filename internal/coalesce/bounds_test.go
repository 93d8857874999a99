package coalesce

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// Beyond both bounds a shared flight stores nothing more: each write is lent to the
// readers and the upstream waits for the slowest, new requests start their own flight,
// and nothing fails.
func TestBeyondTheBoundsFlightsGoInLockstep(t *testing.T) {
	const (
		window    = 4 << 10
		maxMemory = 8 << 10
		maxSpill  = 16 << 10
		chunk     = 4 << 10
	)
	dir := t.TempDir()
	obs := &countingObserver{}
	g := New(Options{MemoryWindow: window, MaxMemory: maxMemory, MaxSpill: maxSpill, TempDir: dir, Observer: obs})
	body := pattern(256 << 10)
	var calls atomic.Int32
	var written atomic.Int64
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		if calls.Add(1) == 1 {
			<-release
		}
		for part := range slices.Chunk(body, chunk) {
			n, err := w.Write(part)
			written.Add(int64(n))
			if err != nil {
				return err
			}
		}
		return nil
	}
	unblock := make(chan struct{})
	slow := newTestWriter()
	slow.beforeWrite = func([]byte) error { <-unblock; return nil }
	slowDone := serveAsync(g, slow, get("http://gw/bytes/l"), up)
	fast := newTestWriter()
	fastDone := serveAsync(g, fast, get("http://gw/bytes/l"), up)
	waitFor(t, "both to join", func() bool { return g.waitersOn(get("http://gw/bytes/l")) == 2 })
	close(release)

	stored := int64(window + maxSpill)
	fast.waitLen(t, int(stored))
	waitFor(t, "the flight to stop storing", func() bool { return obs.snapshot().unshared == 1 })
	require.LessOrEqual(t, written.Load(), stored+chunk, "the upstream waits for the slowest reader")
	require.Less(t, fast.Len(), len(body))

	// A new request does not join the flight it could not get whole: it goes on its own.
	late := await(t, serveAsync(g, newTestWriter(), get("http://gw/bytes/l"), up))
	require.NoError(t, late.err)
	require.Equal(t, body, late.w.Body())
	require.Equal(t, int32(2), calls.Load())

	close(unblock)
	for _, ch := range []<-chan result{slowDone, fastDone} {
		res := await(t, ch)
		require.NoError(t, res.err)
		require.Equal(t, body, res.w.Body())
	}
	require.LessOrEqual(t, g.mem.peak.Load(), int64(maxMemory))
	require.LessOrEqual(t, g.spill.peak.Load(), int64(maxSpill))
	// The readers see the end of the body as soon as the upstream goroutine finishes the
	// spool; that goroutine drops its own reference (often the last, which frees the
	// memory) just after, so the waiters may return first. A leak never gets here.
	waitFor(t, "the upstream goroutines to let go of the body", func() bool {
		return g.mem.used.Load() == 0 && g.spill.used.Load() == 0
	})
	o := obs.snapshot()
	require.Zero(t, o.memory, "every byte held was reported as released")
	require.Zero(t, o.spill)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// Followers that give up on a stuck leader share one new upstream request, whatever their
// number, and each takes whichever answer comes first.
func TestFollowersThatGiveUpShareOneRetry(t *testing.T) {
	for _, first := range []string{"retry", "leader"} {
		t.Run(first+" answers first", func(t *testing.T) {
			const followers = 10
			obs := &countingObserver{}
			g := New(Options{MaxWait: 20 * time.Millisecond, Observer: obs})
			var calls atomic.Int32
			leaderMay, retryMay := make(chan struct{}), make(chan struct{})
			retryCtx := make(chan context.Context, 1)
			up := func(w http.ResponseWriter, r *http.Request) error {
				gate, answer := leaderMay, "leader"
				if calls.Add(1) > 1 {
					gate, answer = retryMay, "retry"
					retryCtx <- r.Context()
				}
				select {
				case <-gate:
				case <-r.Context().Done():
					return context.Cause(r.Context())
				}
				_, err := w.Write([]byte(answer))
				return err
			}
			leader := serveAsync(g, newTestWriter(), get("http://gw/bzz/stuck"), up)
			waitFor(t, "the leader's upstream", func() bool { return calls.Load() == 1 })
			var chans []<-chan result
			for range followers {
				chans = append(chans, serveAsync(g, newTestWriter(), get("http://gw/bzz/stuck"), up))
			}
			waitFor(t, "every follower to give up", func() bool { return obs.snapshot().timeouts == followers })
			if first == "retry" {
				close(retryMay)
			} else {
				close(leaderMay)
			}
			for _, ch := range chans {
				res := await(t, ch)
				require.NoError(t, res.err)
				require.Equal(t, first, string(res.w.Body()))
			}
			if first == "retry" {
				close(leaderMay)
			} else {
				ctx := <-retryCtx
				waitFor(t, "the unneeded retry to be cancelled", func() bool { return ctx.Err() != nil })
			}
			require.Equal(t, "leader", string(await(t, leader).w.Body()))
			require.Equal(t, int32(2), calls.Load(), "one retry for all followers")
			require.Equal(t, 2, obs.snapshot().upstreams)
		})
	}
}

// The attack of issue 13: sockets that read the headers of a large download and then
// stop. Each is cut after the stall timeout; meanwhile memory and spill stay within their
// bounds, and other clients' downloads complete.
func TestStalledReadersAreCutAndPinNothing(t *testing.T) {
	const (
		size         = 64 << 20
		stalledAlone = 8 // distinct keys: one reader each
		stalledPairs = 2 // two stalled readers sharing a key
		maxMemory    = 1 << 20
		maxSpill     = 4 << 20
		stall        = time.Second // a reading client is never this late, even under -race
	)
	dir := t.TempDir()
	obs := &countingObserver{}
	var begin sync.Map // key -> chan struct{}: shared keys wait until both readers joined
	block := pattern(64 << 10)
	gw := newGateway(t, Options{MemoryWindow: 256 << 10, MaxMemory: maxMemory, MaxSpill: maxSpill,
		StallTimeout: stall, TempDir: dir, Observer: obs}, func(w http.ResponseWriter, r *http.Request) {
		if gate, ok := begin.Load(r.URL.Query().Get("k")); ok {
			<-gate.(chan struct{})
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for off := 0; off < size; off += len(block) {
			if _, err := w.Write(block); err != nil {
				return
			}
		}
	})

	// Disk as the kernel sees it, sampled throughout.
	var diskPeak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var total int64
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if info, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
					total += info.Size()
				}
			}
			if total > diskPeak.Load() {
				diskPeak.Store(total)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	t.Cleanup(gw.front.CloseClientConnections) // on failure, before Close waits for handlers
	addr := gw.front.Listener.Addr().String()
	stopHeap := make(chan struct{})
	heapGrowth := testkit.HeapPeak(stopHeap)
	var stalled []net.Conn
	for i := range stalledAlone {
		stalled = append(stalled, stallAfterHeaders(t, addr, fmt.Sprintf("/bytes/big?k=alone%d", i)))
	}
	for i := range stalledPairs {
		key := fmt.Sprintf("pair%d", i)
		gate := make(chan struct{})
		begin.Store(key, gate)
		path := "/bytes/big?k=" + key
		a, b := make(chan net.Conn, 1), make(chan net.Conn, 1)
		go func() { a <- stallAfterHeaders(t, addr, path) }()
		waitFor(t, "the first reader of "+key, func() bool { return gw.g.waitersOn(gw.key(path)) == 1 })
		go func() { b <- stallAfterHeaders(t, addr, path) }()
		waitFor(t, "both readers of "+key, func() bool { return gw.g.waitersOn(gw.key(path)) == 2 })
		close(gate)
		stalled = append(stalled, <-a, <-b)
	}

	// Meanwhile, whole downloads by clients that read.
	want := sha256.New()
	for off := 0; off < size; off += len(block) {
		want.Write(block)
	}
	type digest struct {
		n   int64
		sum []byte
		err error
	}
	var readers []chan digest
	for i := range 3 {
		out := make(chan digest, 1)
		readers = append(readers, out)
		go func() {
			res, err := gw.client.Get(fmt.Sprintf("%s/bytes/big?k=reader%d", gw.front.URL, i))
			if err != nil {
				out <- digest{err: err}
				return
			}
			defer res.Body.Close()
			h := sha256.New() // streamed: the client itself holds nothing and never lags
			n, err := io.Copy(h, res.Body)
			out <- digest{n: n, sum: h.Sum(nil), err: err}
		}()
	}
	for _, ch := range readers {
		var d digest
		select {
		case d = <-ch:
		case <-time.After(patience):
			t.Fatal("a reading client did not finish")
		}
		require.NoError(t, d.err, "stall cuts so far: %d", obs.snapshot().stallCuts)
		require.Equal(t, int64(size), d.n)
		require.Equal(t, want.Sum(nil), d.sum, "body")
	}

	waitFor(t, "every stalled reader to be cut", func() bool { return obs.snapshot().stallCuts == len(stalled) })
	for _, c := range stalled {
		c.Close()
	}
	waitFor(t, "every flight to end", func() bool { return gw.g.Stats().PendingKeys == 0 && gw.g.spill.used.Load() == 0 })
	close(stopSampling)
	<-sampled
	close(stopHeap)
	heap := <-heapGrowth

	t.Logf("%d stalled sockets on a %d MiB body: memory peak %d KiB (bound %d KiB), spill peak %d KiB, on disk %d KiB (bound %d KiB), heap peak +%.1f MiB",
		len(stalled), size>>20, gw.g.mem.peak.Load()>>10, maxMemory>>10, gw.g.spill.peak.Load()>>10, diskPeak.Load()>>10, maxSpill>>10,
		float64(heap)/(1<<20))
	// The bound, plus per-connection buffers (proxy copy buffers, bufio) and the test's own.
	require.Less(t, heap, uint64(maxMemory+16<<20), "heap beyond max_memory plus a constant")
	require.LessOrEqual(t, gw.g.mem.peak.Load(), int64(maxMemory))
	require.LessOrEqual(t, gw.g.spill.peak.Load(), int64(maxSpill))
	require.LessOrEqual(t, diskPeak.Load(), int64(maxSpill))
	require.Zero(t, gw.g.mem.used.Load())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// stallAfterHeaders sends a GET over a raw connection, reads the response headers and
// then reads nothing more.
func stallAfterHeaders(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	require.NoError(t, err)
	_ = conn.SetReadDeadline(time.Now().Add(patience))
	br := bufio.NewReaderSize(conn, 16)
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if line == "\r\n" {
			return conn
		}
	}
}

// Slow content (issue 13): 20 identical GETs of content Bee needs 10 s to answer, with
// max_wait 4s. The followers give up once and share one retry; everyone is served by
// the first answer, at about 10 s, with at most 2 upstream downloads.
func TestSlowContentIsFetchedOnceOrTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 s")
	}
	sim := beesim.New(beesim.Options{})
	ref := sim.AddSynthetic(1<<20, 1)
	sim.SetClassFault(beesim.ClassDownload, beesim.ClassFault{Latency: 10 * time.Second})
	gw := newGateway(t, Options{MaxWait: 4 * time.Second}, sim.Handler().ServeHTTP)

	start := time.Now()
	var clients []<-chan fetched
	for range 20 {
		clients = append(clients, gw.fetch(context.Background(), "/bytes/"+ref, nil))
	}
	var bodies [][]byte
	for _, ch := range clients {
		f := awaitFetch(t, ch)
		require.NoError(t, f.err)
		require.Equal(t, http.StatusOK, f.status)
		bodies = append(bodies, f.body)
	}
	elapsed := time.Since(start)
	for _, b := range bodies[1:] {
		require.Equal(t, bodies[0], b)
	}
	require.Len(t, bodies[0], 1<<20)
	t.Logf("20 clients served in %s with %d upstream downloads", elapsed.Round(time.Millisecond), gw.origins.Load())
	require.LessOrEqual(t, gw.origins.Load(), int32(2))
	// The retry would answer at 14 s: everyone took the first answer.
	require.Less(t, elapsed, 13*time.Second)
}
