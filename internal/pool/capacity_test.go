package pool

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Over every depth the configuration allows, the estimate stays below the nominal 2^depth
// chunks and grows more than twofold per depth (the share of the nominal capacity usable
// before the first overflow grows with the bucket size). Past depth 25 the old sum in linear
// space underflowed and the estimate went flat.
func TestCapacityIsMonotoneOverEveryAllowedDepth(t *testing.T) {
	var depths []int
	for d := 1; d <= 63; d++ {
		cfg := DefaultConfig()
		cfg.Reserve = map[int]int{d: 1}
		if cfg.Validate() == nil { // the pool's depth range, from its one check
			depths = append(depths, d)
		}
	}
	require.NotEmpty(t, depths)
	prev := int64(0)
	for _, d := range depths {
		c := capacityBytes(d)
		nominal := float64(int64(1)<<d) * chunkSize
		require.Positive(t, c, "depth %d", d)
		require.Less(t, float64(c), nominal, "depth %d holds more than its nominal capacity", d)
		if prev > 0 {
			require.Greater(t, c, 2*prev, "depth %d: %d after %d", d, c, prev)
		}
		prev = c
	}
}
