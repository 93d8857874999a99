package pool

import "math"

// bucketFill is a batch's fill as a balls-into-bins model: how many of its 2^16 buckets hold
// how many chunks (Bee's GET /stamps/{id}/buckets at the last poll), with the chunks stamped
// since spread over the buckets as expected for uniformly random addresses. Counts are
// expected values (float) once local uploads have been folded in.
type bucketFill struct {
	depth  int
	hist   map[int]float64 // collisions -> buckets
	chunks float64         // chunks stamped in all
	spare  map[int]float64 // the previous hist, reused by add (nil until then)
}

// newBucketFill reads Bee's per-bucket collisions. Buckets Bee does not list hold nothing.
func newBucketFill(depth int, collisions []int) *bucketFill {
	f := &bucketFill{depth: depth, hist: map[int]float64{}}
	capacity := bucketCapacity(depth)
	for _, c := range collisions {
		c = min(max(c, 0), capacity)
		f.hist[c]++
		f.chunks += float64(c)
	}
	if listed := float64(len(collisions)); listed < buckets {
		f.hist[0] += buckets - listed
	}
	return f
}

// emptyFill is a batch nothing was stamped with.
func emptyFill(depth int) *bucketFill {
	return &bucketFill{depth: depth, hist: map[int]float64{0: buckets}}
}

func bucketCapacity(depth int) int { return 1 << (depth - 16) }

// effectiveChunks is how many chunks a batch of depth takes before its first bucket
// overflows (capacityBytes): the unit of usage_max.
func effectiveChunks(depth int) float64 { return float64(capacityBytes(depth) / chunkSize) }

// fraction is the share of the effective capacity already stamped.
func (f *bucketFill) fraction() float64 { return f.chunks / effectiveChunks(f.depth) }

// leftBytes is the effective capacity not stamped yet (never negative).
func (f *bucketFill) leftBytes() int64 {
	return int64(max(0, effectiveChunks(f.depth)-f.chunks) * chunkSize)
}

func (f *bucketFill) clone() *bucketFill {
	c := &bucketFill{depth: f.depth, chunks: f.chunks, hist: make(map[int]float64, len(f.hist))}
	for k, v := range f.hist {
		c.hist[k] = v
	}
	return c
}

// add folds k chunks stamped since the last poll into the histogram: each bucket receives
// Poisson(k/2^16) of them, a full bucket stays full (Bee refuses what would overflow it).
func (f *bucketFill) add(k float64) {
	if k <= 0 {
		return
	}
	capacity := bucketCapacity(f.depth)
	lambda := k / buckets
	pmf := poissonPMF(lambda)
	// Every injected upload adds: the histogram it replaces is kept for the next one.
	next := f.spare
	if next == nil {
		next = make(map[int]float64, len(f.hist)+len(pmf))
	} else {
		clear(next)
	}
	for c, n := range f.hist {
		if n == 0 {
			continue
		}
		for j, p := range pmf {
			next[min(c+j, capacity)] += n * p
		}
	}
	f.spare, f.hist = f.hist, next
	f.chunks += k
}

// overflowProb is the chance that an upload of k chunks with uniformly random addresses puts
// a chunk into a bucket that is already full: the chance that every chunk misses the full
// buckets (exact), times, for each bucket with room, P(Poisson(k/2^16) <= room left).
func (f *bucketFill) overflowProb(k int64) float64 {
	if k <= 0 {
		return 0
	}
	capacity := bucketCapacity(f.depth)
	lambda := float64(k) / buckets
	// Full buckets exactly: every chunk must miss them all.
	full := min(f.hist[capacity], buckets)
	if full >= buckets {
		return 1
	}
	logOK := float64(k) * math.Log1p(-full/buckets)
	// Every bucket's room is one of a few values: one table of tails serves them all (this
	// runs for every injected upload, twice).
	var tails []float64
	if lambda <= maxTableLambda {
		tails = poissonTails(lambda, capacity)
	}
	for c, n := range f.hist {
		if n == 0 || c >= capacity {
			continue
		}
		var tail float64
		switch m := capacity - c; {
		case tails == nil:
			tail = poissonTail(lambda, m)
		case m < len(tails):
			tail = tails[m]
		}
		if tail >= 1 {
			return 1
		}
		logOK += n * math.Log1p(-tail)
	}
	return -math.Expm1(logOK)
}

// poissonPMF lists P(X=j) for X ~ Poisson(lambda) up to where the terms stop mattering.
func poissonPMF(lambda float64) []float64 {
	out := []float64{}
	term := math.Exp(-lambda)
	total := 0.0
	for j := 0; j < 10000; j++ {
		if j > 0 {
			term *= lambda / float64(j)
		}
		out = append(out, term)
		total += term
		if float64(j) > lambda && term < 1e-15 {
			break
		}
	}
	return out
}

// maxTableLambda bounds poissonTails: beyond it exp(-lambda) nears float64's underflow, and
// poissonTail's logarithms take over.
const maxTableLambda = 500

// poissonTails lists P(X > m) for X ~ Poisson(lambda), m = 0, 1, ... up to maxM or the first
// m past which every term underflows (the tail is 0 beyond the list). The terms come from the
// recurrence P(X=j+1) = P(X=j) lambda/(j+1) and are summed from the smallest up, so tiny
// tails keep their precision as in poissonTail.
func poissonTails(lambda float64, maxM int) []float64 {
	if lambda <= 0 {
		return []float64{}
	}
	pmf := make([]float64, 0, 64)
	term := math.Exp(-lambda)
	j := 0
	for ; j <= maxM+1; j++ {
		if j > 0 {
			term *= lambda / float64(j)
		}
		if term == 0 && float64(j) > lambda {
			break
		}
		pmf = append(pmf, term)
	}
	// The terms past maxM+1 belong to every tail listed: summed until they stop mattering.
	rest := 0.0
	if j > maxM+1 {
		for ; j < maxM+100000; j++ { // term is P(X = j-1) here
			term *= lambda / float64(j)
			if float64(j) > lambda && (term == 0 || term <= rest*1e-17) {
				break
			}
			rest += term
		}
	}
	// tails[m] = rest + sum of pmf[m+1:]; past the list's end every term underflows.
	tails := make([]float64, max(len(pmf)-1, 0))
	sum := rest
	for m := len(pmf) - 2; m >= 0; m-- {
		sum += pmf[m+1]
		tails[m] = math.Min(sum, 1)
	}
	return tails
}

// poissonTail is P(X > m) for X ~ Poisson(lambda), summed from the tail's own terms so that
// tiny probabilities do not vanish in 1 - (almost 1).
func poissonTail(lambda float64, m int) float64 {
	if m < 0 {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	// log P(X = m+1)
	i := m + 1
	lg, _ := math.Lgamma(float64(i) + 1)
	logTerm := -lambda + float64(i)*math.Log(lambda) - lg
	term := math.Exp(logTerm)
	sum := 0.0
	for n := 0; n < 100000 && (term > sum*1e-17 || float64(i) <= lambda); n++ {
		sum += term
		i++
		term *= lambda / float64(i)
		if term == 0 && float64(i) > lambda {
			break
		}
	}
	return math.Min(sum, 1)
}
