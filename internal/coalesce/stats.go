package coalesce

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Health thresholds behind Stats.Status.
const (
	// HealthWindow is how far back Status looks at flight and follower outcomes.
	HealthWindow = 5 * time.Minute
	// WarnPendingKeys and WarnWaiters: Status is at least "warning" from these levels on.
	WarnPendingKeys = 1000
	WarnWaiters     = 10000
	// degradedMinProblems keeps one unlucky request from marking the coalescer degraded.
	degradedMinProblems = 3
)

// Status values.
const (
	StatusHealthy  = "healthy"
	StatusWarning  = "warning"
	StatusDegraded = "degraded"
)

// Stats is the JSON document served at <api_prefix>/coalescer.
//
//   - TotalRequests: every request through ServeHTTP, bypasses included.
//   - CoalescedRequests: followers served from another request's upstream response
//     (headers or the upstream's error). A follower that gave up after max_wait is not.
//   - UpstreamRequests: upstream calls: one per flight (including the one retry flight
//     the followers of a stuck leader share after max_wait) and one per bypass.
//   - HitRatePercent: CoalescedRequests / TotalRequests * 100.
//   - AvgWaitMs: mean time a coalesced follower waited for the shared headers.
//   - MaxConcurrentWaiters: the most requests attached to flights at one time, all keys
//     together, since start.
//   - PendingKeys: flights under way now.
//   - Status, over the last HealthWindow, where a problem is a flight whose upstream
//     failed (an error before headers, a cut body or a panic) or a follower that gave up
//     after max_wait, and an outcome is any finished flight or follower wait:
//     "degraded" when at least 3 problems make up half of the outcomes or more;
//     "warning" when problems make up 10% or more, or PendingKeys >= WarnPendingKeys, or
//     the waiters now attached >= WarnWaiters; "healthy" otherwise.
type Stats struct {
	TotalRequests        int64   `json:"total_requests"`
	CoalescedRequests    int64   `json:"coalesced_requests"`
	UpstreamRequests     int64   `json:"upstream_requests"`
	HitRatePercent       float64 `json:"hit_rate_percent"`
	AvgWaitMs            float64 `json:"avg_wait_ms"`
	MaxConcurrentWaiters int64   `json:"max_concurrent_waiters"`
	PendingKeys          int     `json:"pending_keys"`
	Status               string  `json:"status"`
}

// Stats returns a snapshot of the counters and the health status.
func (g *Group) Stats() Stats {
	g.mu.Lock()
	pending, waiting := len(g.flights), g.waiting
	g.mu.Unlock()

	c := g.stats
	s := Stats{
		TotalRequests:        c.total.Load(),
		CoalescedRequests:    c.coalesced.Load(),
		UpstreamRequests:     c.upstream.Load(),
		MaxConcurrentWaiters: c.maxWaiting.Load(),
		PendingKeys:          pending,
	}
	if s.TotalRequests > 0 {
		s.HitRatePercent = round2(float64(s.CoalescedRequests) * 100 / float64(s.TotalRequests))
	}
	if n := c.waitCount.Load(); n > 0 {
		s.AvgWaitMs = round2(float64(c.waitNanos.Load()) / float64(n) / 1e6)
	}
	outcomes, problems := c.recent.sum(g.opts.Now())
	switch {
	case problems >= degradedMinProblems && problems*2 >= outcomes:
		s.Status = StatusDegraded
	case problems > 0 && problems*10 >= outcomes,
		pending >= WarnPendingKeys, waiting >= WarnWaiters:
		s.Status = StatusWarning
	default:
		s.Status = StatusHealthy
	}
	return s
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// counters are the Group's statistics.
type counters struct {
	total, coalesced, upstream atomic.Int64
	waitNanos, waitCount       atomic.Int64
	maxWaiting                 atomic.Int64
	recent                     recentOutcomes
}

func (c *counters) addWait(d time.Duration) {
	c.waitNanos.Add(int64(d))
	c.waitCount.Add(1)
}

func (c *counters) noteWaiting(n int64) {
	for {
		old := c.maxWaiting.Load()
		if n <= old || c.maxWaiting.CompareAndSwap(old, n) {
			return
		}
	}
}

func (c *counters) recordFlight(now time.Time, failed bool)     { c.recent.add(now, failed) }
func (c *counters) recordFollower(now time.Time, timedOut bool) { c.recent.add(now, timedOut) }

// recentOutcomes counts outcomes and problems over HealthWindow in time buckets.
type recentOutcomes struct {
	mu      sync.Mutex
	buckets [healthBuckets]outcomeBucket
}

const (
	healthBuckets  = 10
	healthBucketNs = int64(HealthWindow) / healthBuckets
)

type outcomeBucket struct {
	slot               int64 // which bucketDuration-long slice of time this counts
	outcomes, problems int
}

func (r *recentOutcomes) add(now time.Time, problem bool) {
	slot := now.UnixNano() / healthBucketNs
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.buckets[(slot%healthBuckets+healthBuckets)%healthBuckets]
	if b.slot != slot {
		*b = outcomeBucket{slot: slot}
	}
	b.outcomes++
	if problem {
		b.problems++
	}
}

func (r *recentOutcomes) sum(now time.Time) (outcomes, problems int) {
	slot := now.UnixNano() / healthBucketNs
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.buckets {
		if b.slot > slot-healthBuckets && b.slot <= slot {
			outcomes += b.outcomes
			problems += b.problems
		}
	}
	return outcomes, problems
}
