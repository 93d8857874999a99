package replay

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Held plus idle never exceeds the bound, whatever the order of acquires and releases.
func TestBudgetNeverExceedsItsBound(t *testing.T) {
	const max = 5*Limit + 300<<10
	budget := NewBudget(max)
	var live [][]byte
	sizes := []int64{-1, 2 << 20, 1000, exactBelow, exactBelow + 1, 0, 50 << 10}
	for i := 0; i < 2000; i++ {
		if i%3 == 2 && len(live) > 0 {
			k := (i * 7) % len(live)
			budget.release(live[k])
			live = append(live[:k], live[k+1:]...)
		} else if buf, ok := budget.acquire(sizes[i%len(sizes)]); ok {
			live = append(live, buf)
		}
		st := budget.Stats()
		require.LessOrEqual(t, st.Held+st.Idle, int64(max), "step %d: %+v", i, st)
		var sum int64
		for _, b := range live {
			sum += int64(cap(b))
		}
		require.Equal(t, sum, st.Held, "step %d: held must be what live uploads reserved", i)
	}
	for _, b := range live {
		budget.release(b)
	}
	st := budget.Stats()
	require.Zero(t, st.Held)
	require.Positive(t, st.NoRoom, "the bound was reached along the way")
}

// After a burst, only maxIdle buffers stay for reuse; the rest are left to the GC. A
// released buffer is reused at once.
func TestBudgetFreeListIsBounded(t *testing.T) {
	budget := NewBudget(64 * Limit)
	var bufs [][]byte
	for i := 0; i < 40; i++ {
		buf, ok := budget.acquire(-1)
		require.True(t, ok)
		bufs = append(bufs, buf)
	}
	require.EqualValues(t, 40*Limit, budget.Held())
	for _, b := range bufs {
		budget.release(b)
	}
	st := budget.Stats()
	require.Zero(t, st.Held)
	require.EqualValues(t, DefaultMaxIdle*Limit, st.Idle)

	first := bufs[len(bufs)-1]
	again, ok := budget.acquire(5 << 20)
	require.True(t, ok)
	require.Equal(t, &first[:1][0], &again[:1][0], "the last released buffer is reused")
	require.Zero(t, len(again))
	budget.release(again)

	budget.SetMaxIdle(2)
	require.EqualValues(t, 2*Limit, budget.Stats().Idle)
}

// Idle buffers give way to live uploads, and a smaller bound after a reload drops them.
func TestBudgetIdleBuffersGiveWay(t *testing.T) {
	budget := NewBudget(4 * Limit)
	var bufs [][]byte
	for i := 0; i < 4; i++ {
		buf, ok := budget.acquire(-1)
		require.True(t, ok)
		bufs = append(bufs, buf)
	}
	_, ok := budget.acquire(10)
	require.False(t, ok, "the bound is full")
	for _, b := range bufs[:3] {
		budget.release(b)
	}
	require.EqualValues(t, 3*Limit, budget.Stats().Idle)
	small, ok := budget.acquire(10)
	require.True(t, ok, "an idle buffer is dropped to make room")
	st := budget.Stats()
	require.EqualValues(t, Limit+10, st.Held)
	require.LessOrEqual(t, st.Held+st.Idle, int64(4*Limit))

	budget.SetMax(Limit + 10)
	st = budget.Stats()
	require.Zero(t, st.Idle, "a smaller bound drops the free list")
	budget.release(small)
	budget.release(bufs[3])
	st = budget.Stats()
	require.Zero(t, st.Held)
	require.EqualValues(t, Limit, st.Idle)
}
