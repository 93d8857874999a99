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
	k := 1 << (depth - 16)                     // chunks per bucket
	overflow := func(lambda float64) float64 { // B * P(X > k)
		// P(X <= k) by summing the Poisson terms in log space.
		sum, term := 0.0, math.Exp(-lambda)
		for i := 0; i <= k; i++ {
			if i > 0 {
				term *= lambda / float64(i)
			}
			sum += term
		}
		return buckets * math.Max(0, 1-sum)
	}
	lo, hi := 0.0, float64(k)*2+10
	for i := 0; i < 100; i++ {
		mid := (lo + hi) / 2
		if overflow(mid) < 1 {
			lo = mid
		} else {
			hi = mid
		}
	}
	chunks := lo * buckets
	bytes := int64(chunks * chunkSize)
	capacityCache.Store(depth, bytes)
	return bytes
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
