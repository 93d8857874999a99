package cache

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigTiersAndValidate(t *testing.T) {
	memory, disk, dir := (*Config)(nil).Tiers()
	require.Equal(t, []any{DefaultMemory, int64(0), ""}, []any{memory, disk, dir})
	memory, disk, dir = (&Config{Memory: 1 << 20, Dir: "/unused"}).Tiers()
	require.Equal(t, []any{int64(1 << 20), int64(0), ""}, []any{memory, disk, dir}, "no disk tier, no directory")
	memory, disk, dir = (&Config{Disk: 1 << 30, Dir: "/var/cache/bee"}).Tiers()
	require.Equal(t, []any{DefaultMemory, int64(1 << 30), "/var/cache/bee"}, []any{memory, disk, dir})

	require.NoError(t, (*Config)(nil).Validate())
	require.NoError(t, (&Config{Disabled: true, Disk: 1 << 30}).Validate(), "a disabled cache is not checked")
	require.ErrorContains(t, (&Config{Disk: 1 << 30}).Validate(), "needs a directory")
	require.ErrorContains(t, (&Config{Dir: "/x"}).Validate(), "without a disk size")
}
