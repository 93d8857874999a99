package caddymodule

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/poolapi"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// On Caddy's file storage, issued batches leave the ledger for history segments (with the
// storage's own Delete for replaced ones), and the ledger read with its history still holds
// every batch issued, once.
func TestIssuedBatchesMoveToHistoryOnFileStorage(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 16\n\t\t\tmax_purchases_per_hour 200"))
	issued := map[string]bool{}
	for len(issued) < 80 {
		waitPoolReserve(t, gw, adminToken, 17, 16, 90*time.Second)
		for range 16 {
			resp, body := acquire(t, gw, adminToken, `{}`)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			var got poolapi.AcquireResponse
			require.NoError(t, json.Unmarshal(body, &got))
			require.False(t, issued[got.BatchID], "batch %s issued twice", got.BatchID)
			issued[got.BatchID] = true
		}
	}
	segmentsNamed := func() bool {
		files := testkit.LedgerFiles(gw.Storage)
		require.Len(t, files, 1)
		raw, err := os.ReadFile(files[0])
		require.NoError(t, err)
		var doc struct {
			History []string `json:"history"`
		}
		require.NoError(t, json.Unmarshal(raw, &doc))
		return len(doc.History) > 0
	}
	require.Eventually(t, segmentsNamed, 30*time.Second, 20*time.Millisecond, "no history segment after %d acquires", len(issued))

	doc, _, err := testkit.ReadOnlyLedger(gw.Storage)
	require.NoError(t, err)
	seen := map[string]int{}
	inLedgerIssued := 0
	for _, b := range doc.Batches {
		seen[b.ID]++
		if b.State == "issued" {
			inLedgerIssued++
		}
	}
	for id := range issued {
		require.Equal(t, 1, seen[id], "issued batch %s in the ledger and its history", id)
	}
	require.GreaterOrEqual(t, inLedgerIssued, len(issued))
	segments, err := filepath.Glob(filepath.Join(gw.Storage, "caddy-bee", "pool-history", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, segments)
	require.LessOrEqual(t, len(segments), 4, "replaced segments left behind: %v", segments)
}
