package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

// Each node's levels have their own gauges; the unlabelled pool gauges add the nodes up.
func TestNodePoolMetricsSumToTotals(t *testing.T) {
	const depth = 33 // kept by no other test
	nodePool{node: "metrics-a"}.Levels(depth, 2, 1, 1, 3)
	nodePool{node: "metrics-b"}.Levels(depth, 1, 0, 1, 2)
	nodePool{node: "metrics-a"}.Levels(depth, 3, 0, 1, 3) // a later report replaces the node's own

	require.Equal(t, 4.0, gaugeValue(t, metrics.poolLevel.WithLabelValues("33", "reserve")))
	require.Equal(t, 0.0, gaugeValue(t, metrics.poolLevel.WithLabelValues("33", "pending")))
	require.Equal(t, 2.0, gaugeValue(t, metrics.poolLevel.WithLabelValues("33", "active")))
	require.Equal(t, 5.0, gaugeValue(t, metrics.poolTarget.WithLabelValues("33")))
	require.Equal(t, 3.0, gaugeValue(t, nodePoolLevel.WithLabelValues("metrics-a", "33", "reserve")))
	require.Equal(t, 2.0, gaugeValue(t, nodePoolLevel.WithLabelValues("metrics-b", "33", "target")))
}
