package caddymodule

import (
	"encoding/json"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// /pool/status shows what was spent, what injected uploads stamped, and each active batch's
// effective capacity left; batch ids only with the admin token.
func TestStatusShowsSpendAndCapacityLeft(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 1"))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)
	resp, body := post(t, gw.URL+"/bytes", randomBytes(200_000), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)

	read := func(token string) spendStatusFields {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v1/pool/status", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var st spendStatusFields
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

func TestBytesPerBZZMetric(t *testing.T) {
	c := &spendCounter{}
	require.Zero(t, c.bytesPerBZZ("bpb-a"), "nothing spent yet")
	c.add("bpb-a", 0, plurToBZZ(new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil))) // 1 BZZ
	c.add("bpb-a", 3<<20, 0)
	c.add("bpb-a", 0, 1)
	c.add("bpb-b", 1<<20, 4)
	require.InDelta(t, float64(3<<20)/2, c.bytesPerBZZ("bpb-a"), 1e-6)
	require.InDelta(t, float64(1<<20)/4, c.bytesPerBZZ("bpb-b"), 1e-6, "each node its own")
	require.InDelta(t, float64(3<<20)/2, gaugeValue(t, bytesPerBZZ.WithLabelValues("bpb-a")), 1e-6)
}

// The pool's observer (a labelledObserver) passes the spend events on, each node's under its
// own label: a gateway in front of two nodes shows two efficiencies, not a blend.
func TestSpendMetricsPerNode(t *testing.T) {
	var o pool.Observer = new(labelledObserver)
	_, ok := o.(pool.SpendObserver)
	require.True(t, ok, "the pool finds the spend metrics on its observer")
	_, ok = o.(pool.FillObserver)
	require.True(t, ok)
	_, ok = o.(pool.DiluteObserver)
	require.True(t, ok)

	a, b := new(labelledObserver), new(labelledObserver)
	a.setNode("spend-a")
	b.setNode("spend-b")
	a.Stamped(1 << 20)
	b.Stamped(3 << 20)
	a.BucketPoll(17)
	b.Dilute(17, 18)
	a.Efficiency([]pool.ActiveStatus{{Depth: 17, CapacityLeftBytes: 5 << 20}}, pool.BlockTimeStatus{})
	require.Equal(t, float64(1<<20), counterValue(stampedBytesTotal.WithLabelValues("spend-a")))
	require.Equal(t, float64(3<<20), counterValue(stampedBytesTotal.WithLabelValues("spend-b")))
	require.Equal(t, 1.0, counterValue(bucketPolls.WithLabelValues("spend-a", "17")))
	require.Equal(t, 1.0, counterValue(dilutions.WithLabelValues("spend-b", "17", "18")))
	require.Equal(t, float64(5<<20), gaugeValue(t, capacityLeft.WithLabelValues("spend-a", "17")))
	b.Efficiency(nil, pool.BlockTimeStatus{})
	require.Equal(t, float64(5<<20), gaugeValue(t, capacityLeft.WithLabelValues("spend-a", "17")), "another node's report leaves a's alone")
}
