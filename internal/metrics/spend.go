package metrics

import (
	"math"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// Spend-efficiency metrics (issue 24): what injected uploads stamped, per BZZ spent, and the
// effective capacity the active batches have left. Each pool is one Bee node's, so every
// series carries the node's label ("" with a single node, whose label is not shown elsewhere).
var (
	stampedBytesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "stamped_bytes_total",
		Help: "Stamped bytes (chunks x 4 KiB, parities included) of injected uploads Bee accepted, per Bee node.",
	}, []string{"node"})
	bytesPerBZZ = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "stamped_bytes_per_bzz",
		Help: "Stamped bytes of injected uploads per BZZ spent on purchases, top-ups and dilutions since start, per Bee node (0 before any spending).",
	}, []string{"node"})
	capacityLeft = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "active_capacity_left_bytes",
		Help: "Effective capacity left in the active batches of a depth (before usage_max), per Bee node, from Bee's buckets and the uploads since.",
	}, []string{"node", "depth"})
	bucketPolls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "bucket_reads_total",
		Help: "GET /stamps/{id}/buckets reads of active batches, per Bee node.",
	}, []string{"node", "depth"})
	dilutions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "dilutions_total",
		Help: "Active batches diluted to a larger depth, per Bee node.",
	}, []string{"node", "from_depth", "depth"})
	blockTimeMeasured = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "pool", Name: "block_time_seconds",
		Help: "Block time measured from a Bee node's /chainstate (0 until measured).",
	}, []string{"node"})
)

// spendTotals backs bytesPerBZZ.
var spendTotals = &spendCounter{}

// spendCounter sums each node's stamped bytes and BZZ spent since start.
type spendCounter struct {
	mu     sync.Mutex
	byNode map[string]*[2]float64 // node -> stamped bytes, BZZ
}

// bytesPerBZZ is node's stamped bytes per BZZ (0 before any spending).
func (s *spendCounter) bytesPerBZZ(node string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNode[node]
	if t == nil || t[1] <= 0 {
		return 0
	}
	return t[0] / t[1]
}

func (s *spendCounter) add(node string, stamped, bzz float64) {
	s.mu.Lock()
	if s.byNode == nil {
		s.byNode = map[string]*[2]float64{}
	}
	t := s.byNode[node]
	if t == nil {
		t = new([2]float64)
		s.byNode[node] = t
	}
	t[0] += stamped
	t[1] += bzz
	s.mu.Unlock()
	bytesPerBZZ.WithLabelValues(node).Set(s.bytesPerBZZ(node))
}

func init() {
	allCollectors = append(allCollectors, stampedBytesTotal, bytesPerBZZ, capacityLeft, bucketPolls, dilutions, blockTimeMeasured)
}

func (m poolMetrics) Stamped(n int64) {
	stampedBytesTotal.WithLabelValues(m.node).Add(float64(n))
	spendTotals.add(m.node, float64(n), 0)
}

func (m poolMetrics) Efficiency(active []pool.ActiveStatus, bt pool.BlockTimeStatus) {
	left := map[int]float64{}
	for _, a := range active {
		if a.CapacityLeftBytes >= 0 {
			left[a.Depth] += float64(a.CapacityLeftBytes)
		} else if _, ok := left[a.Depth]; !ok {
			left[a.Depth] = math.NaN() // unknown: no fill model for this batch
		}
	}
	capacityLeft.DeletePartialMatch(prometheus.Labels{"node": m.node})
	for d, v := range left {
		capacityLeft.WithLabelValues(m.node, strconv.Itoa(d)).Set(v)
	}
	blockTimeMeasured.WithLabelValues(m.node).Set(bt.Measured.Seconds())
}

func (m poolMetrics) BucketPoll(depth int) {
	bucketPolls.WithLabelValues(m.node, strconv.Itoa(depth)).Inc()
}

func (m poolMetrics) Dilute(from, to int) {
	dilutions.WithLabelValues(m.node, strconv.Itoa(from), strconv.Itoa(to)).Inc()
}

// A node's pool counts its spending under its own label.

func (m nodePool) Stamped(n int64) { poolMetrics(m).Stamped(n) }

func (m nodePool) Efficiency(active []pool.ActiveStatus, bt pool.BlockTimeStatus) {
	poolMetrics(m).Efficiency(active, bt)
}

func (m nodePool) BucketPoll(depth int) { poolMetrics(m).BucketPoll(depth) }

func (m nodePool) Dilute(from, to int) { poolMetrics(m).Dilute(from, to) }

// spendObserver is what the spend metrics need of the observer in use.
type spendObserver interface {
	pool.SpendObserver
	pool.FillObserver
	pool.DiluteObserver
}

func (o *PoolObserver) spend() spendObserver { return o.current().(spendObserver) }

func (o *PoolObserver) Stamped(n int64) { o.spend().Stamped(n) }

func (o *PoolObserver) Efficiency(active []pool.ActiveStatus, bt pool.BlockTimeStatus) {
	o.spend().Efficiency(active, bt)
}

func (o *PoolObserver) BucketPoll(depth int) { o.spend().BucketPoll(depth) }

func (o *PoolObserver) Dilute(from, to int) { o.spend().Dilute(from, to) }

var (
	_ spendObserver = poolMetrics{}
	_ spendObserver = nodePool{}
	_ spendObserver = (*PoolObserver)(nil)
)
