package metrics

import (
	"math"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// Spend-efficiency metrics (issue 24): what injected uploads stamped, per BZZ spent, and the
// effective capacity the active batches have left.
var (
	stampedBytesTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "stamped_bytes_total",
		Help: "Stamped bytes (chunks x 4 KiB, parities included) of injected uploads Bee accepted.",
	})
	bytesPerBZZ = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "stamped_bytes_per_bzz",
		Help: "Stamped bytes of injected uploads per BZZ spent on purchases, top-ups and dilutions since start (0 before any spending).",
	}, spendTotals.bytesPerBZZ)
	capacityLeft = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "active_capacity_left_bytes",
		Help: "Effective capacity left in the active batches of a depth (before usage_max), from Bee's buckets and the uploads since.",
	}, []string{"depth"})
	bucketPolls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "bucket_reads_total",
		Help: "GET /stamps/{id}/buckets reads of active batches.",
	}, []string{"depth"})
	dilutions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "dilutions_total",
		Help: "Active batches diluted to a larger depth.",
	}, []string{"from_depth", "depth"})
	blockTimeMeasured = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "block_time_seconds",
		Help: "Block time measured from /chainstate (0 until measured).",
	})
)

// spendTotals backs bytesPerBZZ.
var spendTotals = &spendCounter{}

type spendCounter struct {
	mu      sync.Mutex
	stamped float64
	bzz     float64
}

func (s *spendCounter) bytesPerBZZ() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bzz <= 0 {
		return 0
	}
	return s.stamped / s.bzz
}

func (s *spendCounter) add(stamped, bzz float64) {
	s.mu.Lock()
	s.stamped += stamped
	s.bzz += bzz
	s.mu.Unlock()
}

func init() {
	allCollectors = append(allCollectors, stampedBytesTotal, bytesPerBZZ, capacityLeft, bucketPolls, dilutions, blockTimeMeasured)
}

func (poolMetrics) Stamped(n int64) {
	stampedBytesTotal.Add(float64(n))
	spendTotals.add(float64(n), 0)
}

func (poolMetrics) Efficiency(active []pool.ActiveStatus, bt pool.BlockTimeStatus) {
	left := map[int]float64{}
	for _, a := range active {
		if a.CapacityLeftBytes >= 0 {
			left[a.Depth] += float64(a.CapacityLeftBytes)
		} else if _, ok := left[a.Depth]; !ok {
			left[a.Depth] = math.NaN() // unknown: no fill model for this batch
		}
	}
	capacityLeft.Reset()
	for d, v := range left {
		capacityLeft.WithLabelValues(strconv.Itoa(d)).Set(v)
	}
	blockTimeMeasured.Set(bt.Measured.Seconds())
}

func (poolMetrics) BucketPoll(depth int) { bucketPolls.WithLabelValues(strconv.Itoa(depth)).Inc() }

func (poolMetrics) Dilute(from, to int) {
	dilutions.WithLabelValues(strconv.Itoa(from), strconv.Itoa(to)).Inc()
}
