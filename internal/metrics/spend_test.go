package metrics

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBytesPerBZZMetric(t *testing.T) {
	c := &spendCounter{}
	require.Zero(t, c.bytesPerBZZ(), "nothing spent yet")
	c.add(0, plurToBZZ(new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil))) // 1 BZZ
	c.add(3<<20, 0)
	c.add(0, 1)
	require.InDelta(t, float64(3<<20)/2, c.bytesPerBZZ(), 1e-6)
}
