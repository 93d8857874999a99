package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/inject"
)

// /chunks/stream gets a pool batch only when the client sends the all-zero id; without a
// batch header the stream reaches Bee untouched (pre-stamped messages).
func TestChunksStreamInjectedOnlyForTheZeroID(t *testing.T) {
	sim := beesim.New(beesim.Options{BlockTime: testBlockTime})
	var mu sync.Mutex
	var seen []string // batch header of each /chunks/stream that reached "Bee"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunks/stream" {
			mu.Lock()
			seen = append(seen, r.Header.Get(inject.BatchHeader))
			mu.Unlock()
			beeerror.Write(w, http.StatusBadRequest, "recorded")
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	gw := startGateway(t, poolSite(srv.URL, adminToken, "reserve small 1"))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)

	upgrade := []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="}
	for _, extra := range [][]string{nil, {"Swarm-Postage-Batch-Id: " + strings.Repeat("0", 64)}} {
		resp := rawRequest(t, gw.Addr, http.MethodGet, "/chunks/stream", append(upgrade, extra...)...)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	require.Empty(t, seen[0], "a stream without a batch header must pass untouched")
	require.Regexp(t, "^[0-9a-f]{64}$", seen[1])
	require.NotEqual(t, strings.Repeat("0", 64), seen[1], "the all-zero id must be replaced by a pool batch")
}
