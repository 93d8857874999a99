package metrics

import (
	"math/big"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

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

// The pool's observer (a PoolObserver) passes the spend events on, each node's under its
// own label: a gateway in front of two nodes shows two efficiencies, not a blend.
func TestSpendMetricsPerNode(t *testing.T) {
	var o pool.Observer = new(PoolObserver)
	_, ok := o.(pool.SpendObserver)
	require.True(t, ok, "the pool finds the spend metrics on its observer")
	_, ok = o.(pool.FillObserver)
	require.True(t, ok)
	_, ok = o.(pool.DiluteObserver)
	require.True(t, ok)

	a, b := new(PoolObserver), new(PoolObserver)
	a.SetNode("spend-a")
	b.SetNode("spend-b")
	a.Stamped(1 << 20)
	b.Stamped(3 << 20)
	a.BucketPoll(17)
	b.Dilute(17, 18)
	a.Efficiency([]pool.ActiveStatus{{Depth: 17, CapacityLeftBytes: 5 << 20}}, pool.BlockTimeStatus{})
	require.Equal(t, float64(1<<20), counterValue(t, stampedBytesTotal.WithLabelValues("spend-a")))
	require.Equal(t, float64(3<<20), counterValue(t, stampedBytesTotal.WithLabelValues("spend-b")))
	require.Equal(t, 1.0, counterValue(t, bucketPolls.WithLabelValues("spend-a", "17")))
	require.Equal(t, 1.0, counterValue(t, dilutions.WithLabelValues("spend-b", "17", "18")))
	require.Equal(t, float64(5<<20), gaugeValue(t, capacityLeft.WithLabelValues("spend-a", "17")))
	b.Efficiency(nil, pool.BlockTimeStatus{})
	require.Equal(t, float64(5<<20), gaugeValue(t, capacityLeft.WithLabelValues("spend-a", "17")), "another node's report leaves a's alone")
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}
