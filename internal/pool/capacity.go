package pool

import (
	"math"
	"strings"
	"sync"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

const (
	buckets   = 1 << 16
	chunkSize = 4096
)

var capacityCache sync.Map // depth -> int64

// capacityBytes estimates how many bytes of stamped chunks (4 KiB each) a batch of depth
// takes before its fullest bucket overflows, for chunks whose addresses spread uniformly over
// 2^16 buckets. A bucket holds 2^(depth-16) chunks; with n chunks each bucket's load is about
// Poisson(n/2^16), and the first overflow comes when the expected number of overflowing
// buckets reaches one. This is why a depth-17 batch holds about 12 MB rather than 512 MB.
// Compare it with StampedBytes of an upload, not with its content length.
func capacityBytes(depth int) int64 {
	if v, ok := capacityCache.Load(depth); ok {
		return v.(int64)
	}
	k := float64(int64(1) << (depth - 16)) // chunks per bucket
	lo, hi := 0.0, k+1                     // at a mean load above k+1 buckets overflow by the thousand
	for range 100 {
		mid := (lo + hi) / 2
		if overflowsOne(mid, k) {
			hi = mid
		} else {
			lo = mid
		}
	}
	bytes := int64(lo * buckets * chunkSize)
	capacityCache.Store(depth, bytes)
	return bytes
}

// overflowsOne reports whether, at a mean load of lambda chunks per bucket, at least one of
// the 2^16 buckets is expected to hold more than k: buckets x P(X > k) >= 1, X ~
// Poisson(lambda). The tail is summed from its first term in log space (e^-lambda underflows
// past lambda ~ 745, i.e. from depth 26), so the estimate holds over every allowed depth.
func overflowsOne(lambda, k float64) bool {
	if lambda <= 0 {
		return false
	}
	if lambda >= k+1 {
		return true // the tail is about one half
	}
	// P(X = k+1), then each next term is the previous times lambda/i: decreasing, as lambda < i.
	first := k + 1
	lgam, _ := math.Lgamma(first + 1)
	logFirst := -lambda + first*math.Log(lambda) - lgam
	limit := -math.Log(buckets) // log of the tail at which one bucket is expected to overflow
	sum, term := 1.0, 1.0
	for i := first + 1; term > sum*1e-17; i++ {
		term *= lambda / i
		sum += term
		if logFirst+math.Log(sum) >= limit {
			return true
		}
	}
	return logFirst+math.Log(sum) >= limit
}

// EffectiveCapacity is capacityBytes, for reports: the stamped bytes a batch of depth takes
// before its first bucket is expected to overflow; usage_max is a fraction of it.
func EffectiveCapacity(depth int) int64 { return capacityBytes(depth) }

// StampedBytes is the batch space an upload of n content bytes takes at a redundancy level:
// 4 KiB for every chunk Bee stamps, i.e. data and intermediate chunks plus, above level 0,
// parity chunks and root replicas (Bee v2.8.1 uploads at MEDIUM unless told otherwise, about
// 8% more chunks for large uploads and several times more for tiny ones). An unknown length
// (n < 0) stays unknown.
func StampedBytes(n int64, level swarm.Level) int64 {
	if n < 0 {
		return n
	}
	return swarm.ChunkCount(n, level) * chunkSize
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
