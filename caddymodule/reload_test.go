package caddymodule

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/stretchr/testify/require"

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
	time.Sleep(200 * time.Millisecond)
	require.Len(t, sim.Batches(), 2, "reloads bought twice")

	reload("http://{addr} {\n\tbee " + sim.URL + "\n}")
	require.Nil(t, runningPool(t, sim.URL), "the pool must stop when no config uses it")
}
