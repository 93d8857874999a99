package metrics

import (
	"math/big"

	"github.com/prometheus/client_golang/prometheus"
	"strconv"
	"time"
)

// poolMetrics maps the pool's events to Prometheus. node labels the spend metrics
// (spend_metrics.go) only; "" with a single node.
type poolMetrics struct{ node string }

func (poolMetrics) Levels(depth, reserve, pending, active, target int) {
	d := strconv.Itoa(depth)
	metrics.poolLevel.WithLabelValues(d, "reserve").Set(float64(reserve))
	metrics.poolLevel.WithLabelValues(d, "pending").Set(float64(pending))
	metrics.poolLevel.WithLabelValues(d, "active").Set(float64(active))
	metrics.poolTarget.WithLabelValues(d).Set(float64(target))
}

func (m poolMetrics) Purchase(depth int, result string, amountPLUR *big.Int) {
	metrics.purchases.WithLabelValues(strconv.Itoa(depth), result).Inc()
	if result == "ok" && amountPLUR != nil {
		metrics.spentBZZ.WithLabelValues("purchase").Add(plurToBZZ(amountPLUR))
		spendTotals.add(m.node, 0, plurToBZZ(amountPLUR))
	}
}

func (m poolMetrics) TopUp(depth int, result string, amountPLUR *big.Int) {
	metrics.topUps.WithLabelValues(strconv.Itoa(depth), result).Inc()
	if result == "ok" && amountPLUR != nil {
		metrics.spentBZZ.WithLabelValues("topup").Add(plurToBZZ(amountPLUR))
		spendTotals.add(m.node, 0, plurToBZZ(amountPLUR))
	}
}

func (poolMetrics) Acquire(depth int, result string) {
	metrics.acquires.WithLabelValues(strconv.Itoa(depth), result).Inc()
}

func (poolMetrics) TimeUntilUsable(depth int, d time.Duration) {
	metrics.timeUntilUsable.WithLabelValues(strconv.Itoa(depth)).Observe(d.Seconds())
}

func (poolMetrics) Retired(depth int, reason string) {
	metrics.retired.WithLabelValues(strconv.Itoa(depth), reason).Inc()
}

// Coalescer maps the coalescer's events to Prometheus.
type Coalescer struct{}

// coalescerRoles are the request counters by role, looked up once: every GET and HEAD
// counts in one, and a label lookup hashes the value each time.
var coalescerRoles = struct{ leader, follower, bypass prometheus.Counter }{
	metrics.coalescerRequests.WithLabelValues("leader"),
	metrics.coalescerRequests.WithLabelValues("follower"),
	metrics.coalescerRequests.WithLabelValues("bypass"),
}

func (Coalescer) Request(coalesced bool) {
	if coalesced {
		coalescerRoles.follower.Inc()
	} else {
		coalescerRoles.leader.Inc()
	}
}

func (Coalescer) Bypass()             { coalescerRoles.bypass.Inc() }
func (Coalescer) Upstream()           { metrics.coalescerUpstream.Inc() }
func (Coalescer) BytesShared(n int64) { metrics.coalescerShared.Add(float64(n)) }
func (Coalescer) WaitTimeout()        { metrics.coalescerTimeouts.Inc() }
func (Coalescer) MemoryHeld(d int64)  { metrics.coalescerMemory.Add(float64(d)) }
func (Coalescer) SpillHeld(d int64)   { metrics.coalescerSpill.Add(float64(d)) }
func (Coalescer) Unshared()           { metrics.coalescerUnshared.Inc() }
func (Coalescer) StallCut()           { metrics.coalescerStalled.Inc() }
