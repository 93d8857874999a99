package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

func runningPool(t *testing.T, beeURL string) *pool.Pool {
	t.Helper()
	var found *pool.Pool
	pools.Range(func(key, value any) bool {
		if key == poolKey(beeURL) {
			found = value.(*poolRuntime).pool
		}
		return true
	})
	return found
}

// A config reload keeps the pool runtime (same purchaser, same ledger), applies the new
// targets, and buys nothing twice; removing the pool block stops it.
func TestReloadKeepsPoolRuntime(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 1"))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)
	before := runningPool(t, sim.URL)
	require.NotNil(t, before)

	reload := func(site string) {
		caddyfile := "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n\tstorage file_system " + gw.Storage +
			"\n}\n\n" + strings.ReplaceAll(site, "{addr}", gw.Addr) + "\n"
		cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
		require.NoError(t, err)
		require.NoError(t, caddy.Load(cfg, true))
	}
	for i := 0; i < 5; i++ {
		reload(poolSite(sim.URL, adminToken, "reserve small 1\n\t\t\treserve medium 1"))
	}
	require.Same(t, before, runningPool(t, sim.URL), "a reload must keep the running pool")
	waitPoolReserve(t, gw, adminToken, 20, 1, 60*time.Second)
	// A purchase the reloads set off is decided in a maintenance run: let one begun after now
	// complete before counting.
	p := runningPool(t, sim.URL)
	runs := p.MaintenanceRuns()
	p.TriggerCheck()
	require.Eventually(t, func() bool { return p.MaintenanceRuns() >= runs+2 }, 30*time.Second, 5*time.Millisecond)
	require.Len(t, sim.Batches(), 2, "reloads bought twice")

	reload("http://{addr} {\n\tbee " + sim.URL + "\n}")
	require.Nil(t, runningPool(t, sim.URL), "the pool must stop when no config uses it")
}

// 50 reloads through Caddy's admin API while clients stream downloads and uploads and take
// batches: every in-flight request completes with the right bytes, the pool runtime is the
// same one throughout, it never holds more than its target or buys a label twice, and no
// goroutine is left behind.
func TestReloadsUnderLoad(t *testing.T) {
	sim := startSimulator(t)
	adminAddr := freeAddr(t)
	globals := "\tadmin " + adminAddr
	site := func(i int) string {
		return strings.Replace(poolSite(sim.URL, adminToken, "reserve small 2\n\t\t\tmax_purchases_per_hour 10000"),
			"admin_token", fmt.Sprintf("reverse_proxy {\n\t\t\theader_up X-Reload %d\n\t\t\ttransport http {\n\t\t\t\tkeepalive 2s\n\t\t\t}\n\t\t}\n\t\tadmin_token", i), 1)
	}
	gw := startGatewayWithGlobals(t, globals, site(0))
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	before := runningPool(t, sim.URL)
	require.NotNil(t, before)
	content := randomBytes(2 << 20)
	ref := sim.AddContent(content)
	sim.SetClassFault(beesim.ClassDownload, beesim.ClassFault{Latency: 30 * time.Millisecond})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()
	baseline := runtime.NumGoroutine()
	c := newTally()
	ctx, cancel := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); runLoad(ctx, client, gw, ref, content, c) }()

	admin := &http.Client{Timeout: 30 * time.Second}
	for i := 1; i <= 50; i++ {
		caddyfile := fmt.Sprintf("{\n%s\n\tauto_https off\n\tpersist_config off\n\tstorage file_system %s\n}\n\n%s\n",
			globals, gw.Storage, strings.ReplaceAll(site(i), "{addr}", gw.Addr))
		resp, err := admin.Post("http://"+adminAddr+"/load", "text/caddyfile", strings.NewReader(caddyfile))
		require.NoError(t, err, "reload %d", i)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "reload %d: %s", i, body)
		// The status request itself may meet a handover (see below): retry it.
		var st poolStatus
		ok := false
		for try := 0; try < 20 && !ok; try++ {
			if st, ok = tryPoolStatus(gw, adminToken); !ok {
				time.Sleep(10 * time.Millisecond)
			}
		}
		require.True(t, ok, "no pool status after reload %d", i)
		require.LessOrEqual(t, st.CurrentLevels["17"]+st.Pending["17"], 2, "over target after reload %d", i)
		time.Sleep(40 * time.Millisecond)
	}
	cancel()
	<-loadDone
	t.Log(c)
	require.Same(t, before, runningPool(t, sim.URL), "the reloads kept the running pool")
	require.Zero(t, c.dlWrong)
	// Requests already being answered complete. A request that meets the handover itself (a
	// connection in the old listener's queue, or an idle keep-alive connection the old server
	// closes as the request arrives) gets no answer at all: that is Caddy core's graceful
	// reload, the same without this plugin (counted in the log line above as "no answer").
	require.Zero(t, c.dlBroken, "a download was cut mid-body by a reload")
	require.Positive(t, c.downloads[200])
	for status := range c.uploads {
		require.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, status, "%s", c.upBodies[status])
	}
	require.Positive(t, c.uploads[http.StatusCreated])
	seen := map[string]bool{}
	for _, id := range c.acquired {
		require.False(t, seen[id], "batch %s issued twice", id)
		seen[id] = true
	}

	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	ledger := readLedgerIDs(t, gw)
	labels := map[string]bool{}
	for _, b := range sim.Batches() {
		require.True(t, ledger[b.BatchID], "batch %s paid for but not in the ledger", b.BatchID)
		require.False(t, labels[b.Label], "label %s bought twice", b.Label)
		labels[b.Label] = true
	}
	t.Logf("50 reloads; batches bought %d, issued %d", len(labels), len(seen))

	// Each reload supersedes reverse_proxy's transport; Caddy closes its idle connections at
	// cleanup, and the ones busy then close at the keep-alive idle timeout (2s here, Caddy's
	// default is 2m). After that, nothing of the 50 configs may remain.
	client.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > baseline+10 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("goroutines: %d before, %d after", baseline, runtime.NumGoroutine())
	if runtime.NumGoroutine() > baseline+10 {
		f, _ := os.Create(filepath.Join(os.TempDir(), "reload-goroutines.txt"))
		_ = pprof.Lookup("goroutine").WriteTo(f, 1)
		f.Close()
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), baseline+10, "goroutines leaked")
}
