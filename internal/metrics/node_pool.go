package metrics

import (
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// nodePoolLevel is each node's pool levels, for a gateway in front of several nodes; the
// unlabelled caddy_bee_pool_batches and caddy_bee_pool_target are then totals over the nodes.
var nodePoolLevel = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Namespace: "caddy_bee", Subsystem: "node_pool", Name: "batches",
	Help: "Pool batches per Bee node (label), depth and state (reserve, pending, active, target), with several nodes.",
}, []string{"node", "depth", "state"})

func init() {
	allCollectors = append(allCollectors, nodePoolLevel)
}

// nodeLevels holds every node pool's last levels, so the totals can be summed.
var nodeLevels = struct {
	sync.Mutex
	byNode map[string]map[int][4]int // node -> depth -> reserve, pending, active, target
}{byNode: map[string]map[int][4]int{}}

// nodePool is the observer of one node's pool: its events count like a single pool's,
// its levels go to the node's gauges and into the totals.
type nodePool struct {
	node string
}

func (m nodePool) Levels(depth, reserve, pending, active, target int) {
	d := strconv.Itoa(depth)
	levels := [4]int{reserve, pending, active, target}
	for i, state := range []string{"reserve", "pending", "active", "target"} {
		nodePoolLevel.WithLabelValues(m.node, d, state).Set(float64(levels[i]))
	}
	nodeLevels.Lock()
	defer nodeLevels.Unlock()
	if nodeLevels.byNode[m.node] == nil {
		nodeLevels.byNode[m.node] = map[int][4]int{}
	}
	nodeLevels.byNode[m.node][depth] = levels
	var total [4]int
	for _, depths := range nodeLevels.byNode {
		for i, n := range depths[depth] {
			total[i] += n
		}
	}
	poolMetrics{}.Levels(depth, total[0], total[1], total[2], total[3])
}

func (m nodePool) Purchase(depth int, result string, amountPLUR *big.Int) {
	poolMetrics(m).Purchase(depth, result, amountPLUR)
}

func (m nodePool) TopUp(depth int, result string, amountPLUR *big.Int) {
	poolMetrics(m).TopUp(depth, result, amountPLUR)
}

func (nodePool) Acquire(depth int, result string) { poolMetrics{}.Acquire(depth, result) }

func (nodePool) TimeUntilUsable(depth int, d time.Duration) {
	poolMetrics{}.TimeUntilUsable(depth, d)
}

func (nodePool) Retired(depth int, reason string) { poolMetrics{}.Retired(depth, reason) }

// PoolObserver is a pool's observer for as long as the pool runs: a reload may turn the
// only node into one of several (or label it anew), and its metrics follow.
type PoolObserver struct {
	node atomic.Pointer[string]
}

func (o *PoolObserver) SetNode(label string) { o.node.Store(&label) }

func (o *PoolObserver) current() pool.Observer {
	if label := o.node.Load(); label != nil && *label != "" {
		return nodePool{node: *label}
	}
	return poolMetrics{}
}

func (o *PoolObserver) Levels(depth, reserve, pending, active, target int) {
	o.current().Levels(depth, reserve, pending, active, target)
}

func (o *PoolObserver) Purchase(depth int, result string, amountPLUR *big.Int) {
	o.current().Purchase(depth, result, amountPLUR)
}

func (o *PoolObserver) TopUp(depth int, result string, amountPLUR *big.Int) {
	o.current().TopUp(depth, result, amountPLUR)
}

func (o *PoolObserver) Acquire(depth int, result string) { o.current().Acquire(depth, result) }

func (o *PoolObserver) TimeUntilUsable(depth int, d time.Duration) {
	o.current().TimeUntilUsable(depth, d)
}

func (o *PoolObserver) Retired(depth int, reason string) { o.current().Retired(depth, reason) }
