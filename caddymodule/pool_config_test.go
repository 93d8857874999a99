package caddymodule

import (
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// An empty pool block is the pool's defaults; every option set lands in its own field.
func TestPoolConfigResolvesEveryOption(t *testing.T) {
	got, err := (&PoolConfig{}).poolConfig()
	require.NoError(t, err)
	require.Equal(t, pool.DefaultConfig(), got)

	off, six := false, 6
	d := func(h int) caddy.Duration { return caddy.Duration(time.Duration(h) * time.Hour) }
	got, err = (&PoolConfig{Reserve: map[int]int{18: 2}, Duration: d(48), MinTTL: d(2), TopUp: d(72), CheckInterval: d(3),
		PurchaseSpacing: d(4), BlockTime: caddy.Duration(2 * time.Second), PurchaseTimeout: d(5), PurchaseBackoff: caddy.Duration(6 * time.Minute),
		ImmediateReplenish: &off, AcquireFallback: &off, MaxPurchasesPerHour: &six, UsageMax: 0.5, LabelPrefix: "gw"}).poolConfig()
	require.NoError(t, err)
	want := pool.DefaultConfig()
	want.Reserve = map[int]int{18: 2}
	want.Duration, want.MinTTL, want.TopUp, want.CheckInterval = 48*time.Hour, 2*time.Hour, 72*time.Hour, 3*time.Hour
	want.PurchaseSpacing, want.BlockTime, want.BlockTimeConfigured = 4*time.Hour, 2*time.Second, true
	want.PurchaseTimeout, want.BackoffBase = 5*time.Hour, 6*time.Minute
	want.ImmediateReplenish, want.AcquireFallback, want.MaxPurchasesPerHour = false, false, 6
	want.UsageMax, want.LabelPrefix = 0.5, "gw"
	require.Equal(t, want, got)

	_, err = (&PoolConfig{Reserve: map[int]int{16: 1}}).poolConfig()
	require.ErrorContains(t, err, "pool reserve depth 16: want 17..41 or small/medium/large")
}
