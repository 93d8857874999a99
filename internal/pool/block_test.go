package pool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An empty pool block is the pool's defaults; every option set lands in its own field.
func TestBlockResolvesEveryOption(t *testing.T) {
	got, err := (&Block[time.Duration]{}).Resolve()
	require.NoError(t, err)
	require.Equal(t, DefaultConfig(), got)

	off, six := false, 6
	h := time.Hour
	got, err = (&Block[time.Duration]{Reserve: map[int]int{18: 2}, Duration: 48 * h, MinTTL: 2 * h, TopUp: 72 * h, CheckInterval: 3 * h,
		PurchaseSpacing: 4 * h, BlockTime: 2 * time.Second, PurchaseTimeout: 5 * h, PurchaseBackoff: 6 * time.Minute,
		ImmediateReplenish: &off, AcquireFallback: &off, MaxPurchasesPerHour: &six, UsageMax: 0.5, LabelPrefix: "gw"}).Resolve()
	require.NoError(t, err)
	want := DefaultConfig()
	want.Reserve = map[int]int{18: 2}
	want.Duration, want.MinTTL, want.TopUp, want.CheckInterval = 48*time.Hour, 2*time.Hour, 72*time.Hour, 3*time.Hour
	want.PurchaseSpacing, want.BlockTime, want.BlockTimeConfigured = 4*time.Hour, 2*time.Second, true
	want.PurchaseTimeout, want.BackoffBase = 5*time.Hour, 6*time.Minute
	want.ImmediateReplenish, want.AcquireFallback, want.MaxPurchasesPerHour = false, false, 6
	want.UsageMax, want.LabelPrefix = 0.5, "gw"
	require.Equal(t, want, got)

	_, err = (&Block[time.Duration]{Reserve: map[int]int{16: 1}}).Resolve()
	require.ErrorContains(t, err, "pool reserve depth 16: want 17..41 or small/medium/large")
}

// The Caddyfile's reserve words: a size name or a depth in range, declared once, and a
// count of zero or more.
func TestAddReserve(t *testing.T) {
	reserve, err := AddReserve(nil, "medium", "3")
	require.NoError(t, err)
	reserve, err = AddReserve(reserve, "24", "0")
	require.NoError(t, err)
	require.Equal(t, map[int]int{MediumDepth: 3, 24: 0}, reserve)
	for words, want := range map[[2]string]string{
		{"huge", "1"}:   `pool reserve "huge": want a depth (17..41) or small/medium/large`,
		{"small", "-1"}: `pool reserve small count "-1": want a whole number >= 0`,
		{"20", "1"}:     "pool reserve depth 20: declared twice",
		{"16", "1"}:     "pool reserve depth 16: want 17..41 or small/medium/large",
	} {
		_, err := AddReserve(map[int]int{MediumDepth: 1}, words[0], words[1])
		require.EqualError(t, err, want)
	}
}
