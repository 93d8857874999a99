package coalesce

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// A follower that keeps reading a spilled body, only slowly, is never cut as stalled: the
// stall timeout bounds each piece of at most maxClientWrite, not the whole spilled part
// (sendfile to the file's end used to get one deadline, so a client reading at a few
// MiB/s was cut after a second's worth of bytes).
func TestSlowButSteadyFollowerIsNotCut(t *testing.T) {
	const (
		size  = 24 << 20
		stall = time.Second // one piece at the reader's pace takes a sixth of it
	)
	obs := &countingObserver{}
	release := make(chan struct{})
	block := pattern(64 << 10)
	gw := newGateway(t, Options{MemoryWindow: 64 << 10, StallTimeout: stall, TempDir: t.TempDir(), Observer: obs},
		func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.Header().Set("Content-Length", strconv.Itoa(size))
			for off := 0; off < size; off += len(block) {
				if _, err := w.Write(block); err != nil {
					return
				}
			}
		})
	t.Cleanup(gw.front.CloseClientConnections)
	path := "/bytes/slow"
	type answer struct {
		resp *http.Response
		err  error
	}
	fast, slow := make(chan answer, 1), make(chan answer, 1)
	go func() {
		resp, err := gw.client.Get(gw.front.URL + path)
		fast <- answer{resp, err}
	}()
	waitFor(t, "the first client", func() bool { return gw.g.waitersOn(gw.key(path)) == 1 })
	go func() {
		resp, err := gw.client.Get(gw.front.URL + path)
		slow <- answer{resp, err}
	}()
	waitFor(t, "both clients", func() bool { return gw.g.waitersOn(gw.key(path)) == 2 })
	close(release)

	f := <-fast
	require.NoError(t, f.err)
	n, err := io.Copy(io.Discard, f.resp.Body)
	f.resp.Body.Close()
	require.NoError(t, err)
	require.EqualValues(t, size, n)

	s := <-slow
	require.NoError(t, s.err)
	defer s.resp.Body.Close()
	got := testkit.ReadSteadily(s.resp.Body, 64<<10, 10*time.Millisecond) // about 6 MiB/s: bytes taken every few milliseconds
	require.EqualValues(t, size, got, "the slow follower was cut")
	require.Zero(t, obs.stallCuts)
}
