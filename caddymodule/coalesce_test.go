package caddymodule

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// slowUpstream serves a fixed body after a delay and counts the requests that reach it.
type slowUpstream struct {
	*httptest.Server
	hits atomic.Int64
}

func newSlowUpstream(t *testing.T, delay time.Duration, body []byte, cutAfter int) *slowUpstream {
	u := &slowUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		time.Sleep(delay)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("ETag", `"ref"`)
		if cutAfter > 0 {
			_, _ = w.Write(body[:cutAfter])
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler) // Bee cuts the connection when a chunk fails
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(u.Close)
	return u
}

func syntheticBody(t *testing.T, simURL, ref string) []byte {
	t.Helper()
	resp, err := http.Get(simURL + "/bytes/" + ref)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return body
}

func manyClients(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}, Timeout: time.Minute}
}

// 1000 concurrent identical GETs against a slow simulator cost one upstream request, and
// every client gets the same body.
func TestStampedeCoalescesThroughCaddy(t *testing.T) {
	sim := startSimulator(t)
	ref := sim.AddSynthetic(64<<10, 42)
	body := syntheticBody(t, sim.URL, ref)
	sim.SetClassFault(beesim.ClassDownload, beesim.ClassFault{Latency: 3 * time.Second})
	sim.ResetStats()
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+"\n}")
	client := manyClients(1000)

	const n = 1000
	var wg sync.WaitGroup
	var ok, wrong atomic.Int64
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Get(gw.URL + "/bytes/" + ref)
			if err != nil {
				wrong.Add(1)
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
				wrong.Add(1)
				return
			}
			ok.Add(1)
		}()
	}
	close(start)
	wg.Wait()
	require.Zero(t, wrong.Load())
	require.EqualValues(t, n, ok.Load())
	// The simulator answers after 3s, far longer than 1000 clients need to connect: all share
	// one flight.
	require.EqualValues(t, 1, sim.Stats().Downloads, "upstream requests for %d clients", n)

	resp, err := http.Get(gw.URL + "/api/v1/coalescer")
	require.NoError(t, err)
	var stats map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	require.EqualValues(t, n, stats["total_requests"])
	require.EqualValues(t, 1, stats["upstream_requests"])
	require.EqualValues(t, n-1, stats["coalesced_requests"])
	require.Contains(t, []any{"healthy", "warning", "degraded"}, stats["status"])
}

// A body cut mid-stream breaks every waiter's response; none sees a short 200 as complete.
func TestCutBodyBreaksEveryWaiter(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 1<<20)
	up := newSlowUpstream(t, 200*time.Millisecond, body, 100_000)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	client := manyClients(20)
	var wg sync.WaitGroup
	var broken atomic.Int64
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(gw.URL + "/bytes/" + testRef)
			if err != nil {
				broken.Add(1)
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(got) < len(body) {
				broken.Add(1)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 20, broken.Load())
}

// An upstream error status reaches every waiter as it is.
func TestUpstreamErrorStatusReachesEveryWaiter(t *testing.T) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(200 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":404,"message":"Not Found"}`)
	}))
	defer up.Close()
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	client := manyClients(50)
	var wg sync.WaitGroup
	var notFound atomic.Int64
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(gw.URL + "/bytes/" + testRef)
			if err != nil {
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound && string(got) == `{"code":404,"message":"Not Found"}` {
				notFound.Add(1)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 50, notFound.Load())
	require.Less(t, hits.Load(), int64(50))
}

// Bee unreachable: every waiter gets Caddy's 502, none hangs.
func TestUnreachableUpstreamGives502ToAll(t *testing.T) {
	gw := startGateway(t, "http://{addr} {\n\tbee http://"+freeAddr(t)+"\n}")
	client := manyClients(10)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(gw.URL + "/bytes/" + testRef)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusBadGateway {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 10, bad.Load())
}

func TestCoalesceOffHasNoStatsEndpoint(t *testing.T) {
	up := newSlowUpstream(t, 0, []byte("x"), 0)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+" {\n\t\tcoalesce off\n\t}\n}")
	resp, err := http.Get(gw.URL + "/api/v1/coalescer")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
