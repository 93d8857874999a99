package coalesce

// Regression cases ported from the bugs reported against Souin/cache-handler's coalescing.

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// The upstream calls WriteHeader twice and writes the body in two calls: every waiter
// gets the first status once and the body once, in order.
func TestSouinBodyAndHeadersWrittenTwice(t *testing.T) {
	g := New(Options{})
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		<-release
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		w.WriteHeader(http.StatusInternalServerError) // ignored, as in net/http
		w.Header().Set("X-Late", "ignored")           // after headers: not sent, as in net/http
		_, _ = w.Write([]byte("hello "))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte("world"))
		return nil
	}
	var chans []<-chan result
	for range 10 {
		chans = append(chans, serveAsync(g, newTestWriter(), get("http://gw/bzz/twice"), up))
	}
	waitFor(t, "all to join", func() bool { return g.waitersOn(get("http://gw/bzz/twice")) == 10 })
	close(release)
	for _, ch := range chans {
		res := await(t, ch)
		require.NoError(t, res.err)
		require.Equal(t, http.StatusOK, res.w.Status())
		require.Equal(t, "hello world", string(res.w.Body()))
		require.Empty(t, res.w.Header().Get("X-Late"))
	}
}

// The upstream reuses one buffer for every Write (as a pooled copy buffer does) and some
// waiters are cancelled mid-stream: the others still get exact bytes, because the flight
// copies each write and never hands a buffer from one goroutine to another's reuse.
func TestSouinBufferReuseAfterCancellation(t *testing.T) {
	g := New(Options{MemoryWindow: 8 << 10, TempDir: t.TempDir()})
	body := pattern(256 << 10)
	release := make(chan struct{})
	halfway := make(chan struct{})
	resume := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		<-release
		buf := make([]byte, 4<<10) // reused for every write
		for off := 0; off < len(body); off += len(buf) {
			if off == len(body)/2 {
				close(halfway)
				<-resume
			}
			n := copy(buf, body[off:])
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			for i := range buf { // scribble: a retained alias would show this garbage
				buf[i] = 0xEE
			}
		}
		return nil
	}
	var survivors []<-chan result
	var cancels []context.CancelFunc
	var cancelled []<-chan result
	for i := range 20 {
		if i%2 == 0 {
			survivors = append(survivors, serveAsync(g, newTestWriter(), get("http://gw/bytes/reuse"), up))
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		cancelled = append(cancelled, serveAsync(g, newTestWriter(), httpRequest(ctx, http.MethodGet, "http://gw/bytes/reuse"), up))
	}
	waitFor(t, "all to join", func() bool { return g.waitersOn(get("http://gw/bytes/reuse")) == 20 })
	close(release)
	<-halfway
	for _, cancel := range cancels {
		cancel()
	}
	for _, ch := range cancelled {
		res := await(t, ch)
		require.ErrorIs(t, res.err, context.Canceled)
		require.True(t, bytes.HasPrefix(body, res.w.Body()), "a cancelled waiter got wrong bytes before it left")
	}
	close(resume)
	for _, ch := range survivors {
		res := await(t, ch)
		require.NoError(t, res.err)
		require.True(t, bytes.Equal(body, res.w.Body()), "survivor body corrupted")
	}
}

// A cancelled request must not corrupt or truncate the body shared with the others, even
// when it is the leader and it leaves while the upstream is still writing.
func TestSouinCancelledRequestDoesNotCorruptSharedBody(t *testing.T) {
	g := New(Options{MemoryWindow: 1 << 10, TempDir: t.TempDir()})
	gt := newGate()
	body := pattern(64 << 10)
	ctx, cancel := context.WithCancel(context.Background())
	leaderW := newTestWriter()
	leader := serveAsync(g, leaderW, httpRequest(ctx, http.MethodGet, "http://gw/bytes/corrupt"), gt.upstream)
	gt.call(t)
	var followers []<-chan result
	for range 5 {
		followers = append(followers, serveAsync(g, newTestWriter(), get("http://gw/bytes/corrupt"), gt.upstream))
	}
	waitFor(t, "all to join", func() bool { return g.waitersOn(get("http://gw/bytes/corrupt")) == 6 })

	sendRange := func(from, to int) {
		for off := from; off < to; off += 1000 {
			gt.send(t, body[off:min(off+1000, to)])
		}
	}
	half := len(body) / 2
	sendRange(0, half)
	leaderW.waitLen(t, 5000)
	cancel() // the leader leaves mid-body, upstream still writing
	require.ErrorIs(t, await(t, leader).err, context.Canceled)
	sendRange(half, len(body))
	close(gt.release)
	for _, ch := range followers {
		res := await(t, ch)
		require.NoError(t, res.err)
		require.True(t, bytes.Equal(body, res.w.Body()), "follower body corrupted after the leader left")
	}
}
