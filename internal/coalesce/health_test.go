package coalesce

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// The story's field names carry the same numbers as Stats.
func TestHealthReportUsesTheStoryNames(t *testing.T) {
	s := Stats{TotalRequests: 10, CoalescedRequests: 7, UpstreamRequests: 3, HitRatePercent: 70,
		AvgWaitMs: 1.5, MaxConcurrentWaiters: 8, PendingKeys: 2, Status: StatusWarning}
	raw, err := json.Marshal(s.Health())
	require.NoError(t, err)
	require.JSONEq(t, `{"total_requests":10,"coalesced_requests":7,"api_calls_made":3,"hit_rate_percent":70,
		"avg_wait_time_ms":1.5,"max_concurrent_waiters":8,"pending_keys":2,"status":"warning"}`, string(raw))
}

func TestDisabledHealthSaysDisabled(t *testing.T) {
	h := DisabledHealth()
	require.Equal(t, StatusDisabled, h.Status)
	require.Zero(t, h.TotalRequests)
}
