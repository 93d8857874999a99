package caddymodule

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmgate/caddy-bee/internal/poolapi"
)

// /pool/status shows what was spent, what injected uploads stamped, and each active batch's
// effective capacity left; batch ids only with the admin token.
func TestStatusShowsSpendAndCapacityLeft(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 1"))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)
	resp, body := post(t, gw.URL+"/bytes", randomBytes(200_000), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)

	read := func(token string) poolapi.SpendStatus {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v1/pool/status", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var st poolapi.SpendStatus
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		return st
	}
	st := read(adminToken)
	require.Positive(t, st.Spend.SpentBZZ, "the reserve batch was bought by this process")
	require.GreaterOrEqual(t, st.Spend.StampedBytes, int64(200_000))
	require.InDelta(t, float64(st.Spend.StampedBytes)/st.Spend.SpentBZZ, st.Spend.BytesPerBZZ, 1e-6*st.Spend.BytesPerBZZ)
	require.Len(t, st.ActiveBatches, 1)
	a := st.ActiveBatches[0]
	require.Equal(t, 17, a.Depth)
	require.NotEmpty(t, a.BatchID)
	require.Positive(t, a.EffectiveFill)
	require.Less(t, a.EffectiveFill, 0.1)
	require.Positive(t, a.CapacityLeftBytes)
	require.Empty(t, read("").ActiveBatches[0].BatchID, "batch ids are for the admin token")
}
