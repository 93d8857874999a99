package caddymodule

// coalescerMetrics maps the coalescer's events to Prometheus.
type coalescerMetrics struct{}

func (coalescerMetrics) Request(coalesced bool) {
	role := "leader"
	if coalesced {
		role = "follower"
	}
	metrics.coalescerRequests.WithLabelValues(role).Inc()
}

func (coalescerMetrics) Bypass()             { metrics.coalescerRequests.WithLabelValues("bypass").Inc() }
func (coalescerMetrics) Upstream()           { metrics.coalescerUpstream.Inc() }
func (coalescerMetrics) BytesShared(n int64) { metrics.coalescerShared.Add(float64(n)) }
func (coalescerMetrics) WaitTimeout()        { metrics.coalescerTimeouts.Inc() }
