package beesim

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// Synthetic content is the same bytes whatever the offsets and sizes it is read with (Range
// requests and the coalescer read it in pieces), differs between seeds, and ends at its size.
func TestSyntheticReadsAgreeAtAnyOffset(t *testing.T) {
	g := &synthetic{size: 100_003, seed: 7}
	whole := make([]byte, g.size)
	n, err := g.ReadAt(whole, 0)
	require.NoError(t, err)
	require.Equal(t, int(g.size), n)
	for _, c := range []struct{ off, size int }{{1, 7}, {3, 1000}, {8, 8}, {12345, 4099}, {99_990, 13}} {
		part := make([]byte, c.size)
		n, err := g.ReadAt(part, int64(c.off))
		require.NoError(t, err)
		require.Equal(t, whole[c.off:c.off+n], part[:n], "offset %d", c.off)
	}
	tail := make([]byte, 10)
	n, err = g.ReadAt(tail, g.size-4)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, 4, n)
	require.Equal(t, whole[g.size-4:], tail[:4])

	other := make([]byte, 64)
	_, _ = (&synthetic{size: 64, seed: 8}).ReadAt(other, 0)
	require.False(t, bytes.Equal(whole[:64], other), "seeds give different content")
	require.NotEqual(t, bytes.Repeat(whole[:1], 64), whole[:64], "not constant")
}
