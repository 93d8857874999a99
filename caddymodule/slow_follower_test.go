package caddymodule

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// Through real Caddy: a follower that keeps reading a spilled body, only slowly, is never
// cut as stalled. stall_timeout bounds each piece of at most 1 MiB; the spilled part used
// to go out in one sendfile to the end of the file under one deadline, so a client reading
// a few MiB/s was cut after about 7 MiB.
func TestSlowButSteadyFollowerIsNotCut(t *testing.T) {
	const size = 16 << 20
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Length", strconv.Itoa(size))
		_, _ = io.Copy(w, &patternReader{left: size})
	}))
	defer up.Close()
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+" {\n\t\tcoalesce {\n\t\t\tstall_timeout 1s\n\t\t\tmemory_window 64KiB\n\t\t}\n\t}\n}")
	url := gw.URL + "/bytes/" + testRef

	type answer struct {
		resp *http.Response
		err  error
	}
	fast, slow := make(chan answer, 1), make(chan answer, 1)
	for _, ch := range []chan answer{fast, slow} {
		go func() {
			resp, err := http.Get(url)
			ch <- answer{resp, err}
		}()
	}
	require.Eventually(t, func() bool {
		_, h := getJSON(t, gw.URL+"/health/coalescer")
		return h["max_concurrent_waiters"] == float64(2)
	}, 10*time.Second, 5*time.Millisecond, "both clients share the flight")
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
	began := time.Now()
	got := testkit.ReadSteadily(s.resp.Body, 64<<10, 10*time.Millisecond) // about 6 MiB/s: a 1 MiB piece in a sixth of the stall timeout
	t.Logf("slow follower read %d MiB in %v", got>>20, time.Since(began).Round(time.Millisecond))
	require.EqualValues(t, size, got, "the slow follower was cut")
}
