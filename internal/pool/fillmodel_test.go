package pool

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFillEmptyAndFull(t *testing.T) {
	empty := emptyFill(17)
	require.Less(t, empty.overflowProb(100), 1e-3, "100 chunks in 65536 buckets of 2: three in one is rare")
	require.Greater(t, empty.overflowProb(1000), 0.01, "1000 chunks: a third of the effective capacity at once")
	require.Zero(t, empty.fraction())

	full := make([]int, buckets)
	for i := range full {
		full[i] = 2
	}
	f := newBucketFill(17, full)
	require.Equal(t, 1.0, f.overflowProb(1))
	require.InDelta(t, 2*buckets/effectiveChunks(17), f.fraction(), 1e-9)
	require.Zero(t, f.leftBytes())
}

func TestFillUnlistedBucketsAreEmpty(t *testing.T) {
	f := newBucketFill(18, []int{4, 4, 1})
	require.Equal(t, float64(buckets-3), f.hist[0])
	require.Equal(t, 9.0, f.chunks)
	require.Equal(t, 2.0, f.hist[4])
	// Two full buckets: one chunk lands in one of them with probability ~2/65536.
	require.InDelta(t, 2.0/buckets, f.overflowProb(1), 1e-7)
}

func TestFillAddKeepsBucketsAndCountsChunks(t *testing.T) {
	f := emptyFill(20)
	f.add(100000)
	f.add(50000)
	total, chunks := 0.0, 0.0
	for c, n := range f.hist {
		total += n
		chunks += float64(c) * n
	}
	require.InDelta(t, buckets, total, 1e-6)
	require.InDelta(t, 150000, chunks, 1, "no bucket reached its 16-chunk limit: every chunk is in the histogram")
	require.Equal(t, 150000.0, f.chunks)
}

// The model against a simulation of random chunk addresses: fill a depth-17 batch with n
// chunks, then the chance that the next k overflow some bucket.
func TestFillOverflowMatchesSimulation(t *testing.T) {
	const depth, k, trials = 17, 32, 400
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1500, 2500} {
		overflowed := 0
		model := 0.0
		for range trials {
			load := make([]int, buckets)
			for range n {
				b := rng.IntN(buckets)
				if load[b] < 2 {
					load[b]++
				}
			}
			model += newBucketFill(depth, load).overflowProb(k) / trials
			for range k {
				if b := rng.IntN(buckets); load[b] >= 2 {
					overflowed++
					break
				} else {
					load[b]++
				}
			}
		}
		observed := float64(overflowed) / trials
		sigma := math.Sqrt(model*(1-model)/trials) + 0.005
		require.InDelta(t, model, observed, 4*sigma, "n=%d: model %.4f, observed %.4f", n, model, observed)

		// The local estimate (an empty batch plus n chunks spread by the model) agrees with
		// the histogram read from the buckets.
		local := emptyFill(depth)
		local.add(float64(n))
		require.InDelta(t, model, local.overflowProb(k), 0.3*model+0.002, "n=%d", n)
	}
}

func TestFillEffectiveCapacityIsFirstOverflow(t *testing.T) {
	for _, depth := range []int{17, 18, 20, 22} {
		// Stamping the effective capacity into an empty batch is expected to overflow one
		// bucket: the chance of at least one overflow is 1 - 1/e.
		p := emptyFill(depth).overflowProb(int64(effectiveChunks(depth)))
		require.InDelta(t, 1-math.Exp(-1), p, 0.01, "depth %d", depth)
	}
}

func TestPoissonTail(t *testing.T) {
	require.Equal(t, 1.0, poissonTail(0.5, -1))
	require.Zero(t, poissonTail(0, 3))
	require.InDelta(t, 1-math.Exp(-0.5), poissonTail(0.5, 0), 1e-12)
	require.InDelta(t, 1-math.Exp(-2)*(1+2+2), poissonTail(2, 2), 1e-12)
	require.Greater(t, poissonTail(1e-4, 16), 0.0, "tiny tails do not vanish")
}

// The table overflowProb uses agrees with poissonTail wherever the latter is representable.
func TestPoissonTailsMatchPoissonTail(t *testing.T) {
	for _, lambda := range []float64{1e-6, 1e-4, 0.01, 0.5, 3, 40, 200, 499} {
		for _, maxM := range []int{0, 1, 3, 16, 64, 1024} {
			tails := poissonTails(lambda, maxM)
			for m := 0; m <= maxM; m++ {
				want := poissonTail(lambda, m)
				got := 0.0
				if m < len(tails) {
					got = tails[m]
				}
				if want < 1e-290 {
					require.Less(t, got, 1e-280, "lambda %v m %d", lambda, m)
					continue
				}
				require.InEpsilon(t, want, got, 1e-9, "lambda %v m %d", lambda, m)
			}
		}
	}
	require.Empty(t, poissonTails(0, 5))
}
