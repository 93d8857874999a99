package coalesce

// StatusDisabled is HealthReport.Status when coalescing is off.
const StatusDisabled = "disabled"

// HealthReport is Stats in the field names of the request-coalescer story's
// `GET /health/coalescer`, so clients written for that endpoint work unchanged. It holds the
// same data as Stats: api_calls_made is upstream_requests, avg_wait_time_ms is avg_wait_ms.
type HealthReport struct {
	TotalRequests        int64   `json:"total_requests"`
	CoalescedRequests    int64   `json:"coalesced_requests"`
	APICallsMade         int64   `json:"api_calls_made"`
	HitRatePercent       float64 `json:"hit_rate_percent"`
	AvgWaitTimeMs        float64 `json:"avg_wait_time_ms"`
	MaxConcurrentWaiters int64   `json:"max_concurrent_waiters"`
	PendingKeys          int     `json:"pending_keys"`
	Status               string  `json:"status"`
}

// Health renders s in the story's names.
func (s Stats) Health() HealthReport {
	return HealthReport{
		TotalRequests:        s.TotalRequests,
		CoalescedRequests:    s.CoalescedRequests,
		APICallsMade:         s.UpstreamRequests,
		HitRatePercent:       s.HitRatePercent,
		AvgWaitTimeMs:        s.AvgWaitMs,
		MaxConcurrentWaiters: s.MaxConcurrentWaiters,
		PendingKeys:          s.PendingKeys,
		Status:               s.Status,
	}
}

// DisabledHealth is the report of a gateway that does not coalesce: zero counters and
// status "disabled".
func DisabledHealth() HealthReport { return HealthReport{Status: StatusDisabled} }
