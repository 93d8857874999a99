package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
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
			seen = append(seen, r.Header.Get(batchHeader))
			mu.Unlock()
			writeBeeError(w, http.StatusBadRequest, "recorded")
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

func TestInjectionAsked(t *testing.T) {
	zero := strings.Repeat("0", 64)
	for _, c := range []struct {
		route, batch, stamp string
		want                bool
	}{
		{"/bytes", "", "", true}, {"/bytes", zero, "", true}, {"/bytes", "ab", "", false},
		{"/chunks/stream", "", "", false}, {"/chunks/stream", zero, "", true},
		{"/chunks/stream", zero, "00", false}, {"/chunks/stream", "ab", "", false},
	} {
		h := http.Header{}
		if c.batch != "" {
			h.Set(batchHeader, c.batch)
		}
		if c.stamp != "" {
			h.Set(stampHeader, c.stamp)
		}
		require.Equal(t, c.want, injectionAsked(c.route, h), "%+v", c)
	}
}
