package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/poolapi"
)

// testBlockTime makes the simulated chain fast: a batch is usable ~14 blocks after purchase.
const testBlockTime = 20 * time.Millisecond

type simulator struct {
	*beesim.Sim
	URL string
}

func startSimulator(t testing.TB) *simulator {
	t.Helper()
	sim := beesim.New(beesim.Options{BlockTime: testBlockTime})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &simulator{Sim: sim, URL: srv.URL}
}

// poolSite is a gateway site with a fast pool in front of the simulator at simURL; poolLines
// come last, so they override the fast defaults.
func poolSite(simURL, token, poolLines string) string {
	return fmt.Sprintf(`http://{addr} {
	bee %s {
		pool {
			block_time %s
			purchase_spacing 1ms
			check_interval 2s
			%s
		}
		admin_token %s
	}
}`, simURL, testBlockTime, poolLines, token)
}

// poolStatus is what GET /pool/status answers.
type poolStatus = poolapi.Status

func getPoolStatus(t testing.TB, gw *gateway, token string) poolStatus {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v1/pool/status", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st poolStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitPoolReserve waits until the pool holds n usable reserve batches of depth. A failed
// request is tried again: right after a config reload, the old listener may reset a
// connection it had queued (seen as "connection reset by peer" on connect).
func waitPoolReserve(t testing.TB, gw *gateway, token string, depth, n int, within time.Duration) poolStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	var st poolStatus
	for time.Now().Before(deadline) {
		if got, ok := tryPoolStatus(gw, token); ok {
			if st = got; st.CurrentLevels[strconv.Itoa(depth)] >= n {
				return st
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pool did not reach %d reserve batches of depth %d within %s: %+v", n, depth, within, st)
	return st
}
