package coalesce

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRemoveStaleSpillsOnlyOldSpillFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, age time.Duration) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
		old := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(p, old, old))
	}
	write(spillPrefix+"crashed", 3*time.Hour)
	write(spillPrefix+"live", time.Minute)
	write("someone-elses-file", 3*time.Hour)
	require.NoError(t, os.Mkdir(filepath.Join(dir, spillPrefix+"a-dir"), 0o700))

	n, err := RemoveStaleSpills(dir, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	require.ElementsMatch(t, []string{spillPrefix + "live", "someone-elses-file", spillPrefix + "a-dir"}, left)

	_, err = RemoveStaleSpills(filepath.Join(dir, "missing"), time.Hour)
	require.Error(t, err)
}
