package coalesce

import (
	"hash/crc32"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// discardWriter counts (and optionally checksums) what it is sent, holding nothing.
type discardWriter struct {
	header http.Header
	status int
	n      int64
	crc    uint32
	sum    bool
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.sum {
		w.crc = crc32.Update(w.crc, crc32.IEEETable, p)
	}
	return len(p), nil
}

// A 1 GiB body streamed to 50 clients keeps the heap within the memory window plus a
// small constant: the rest lives in the temp file, which is gone afterwards.
func TestHugeBodyToManyClientsStaysWithinMemoryWindow(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() {
		size = 64 << 20
	}
	const (
		clients = 50
		window  = 4 << 20
	)
	dir := t.TempDir()
	g := New(Options{MemoryWindow: window, TempDir: dir})

	block := pattern(1 << 20)
	var wantCRC atomic.Uint32
	release := make(chan struct{})
	up := func(w http.ResponseWriter, r *http.Request) error {
		<-release
		buf := make([]byte, 32<<10) // one reused buffer, as reverse_proxy's copy does
		var crc uint32
		for off := int64(0); off < size; {
			n := copy(buf, block[off%int64(len(block)):])
			n = int(min(int64(n), size-off))
			crc = crc32.Update(crc, crc32.IEEETable, buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			off += int64(n)
		}
		wantCRC.Store(crc)
		return nil
	}

	var startMS runtime.MemStats
	stop := make(chan struct{})
	peak := testkit.HeapPeak(stop)
	runtime.ReadMemStats(&startMS)

	writers := make([]*discardWriter, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range writers {
		writers[i] = &discardWriter{header: http.Header{}, sum: i == clients-1}
		wg.Go(func() { errs[i] = g.ServeHTTP(writers[i], get("http://gw/bytes/huge"), up) })
	}
	waitFor(t, "every client to join", func() bool { return g.waitersOn(get("http://gw/bytes/huge")) == clients })
	close(release)
	wg.Wait()
	close(stop)
	heapGrowth := <-peak
	var endMS runtime.MemStats
	runtime.ReadMemStats(&endMS)

	for i, w := range writers {
		require.NoError(t, errs[i], "client %d", i)
		require.Equal(t, size, w.n, "client %d", i)
	}
	require.Equal(t, wantCRC.Load(), writers[clients-1].crc, "body content")

	// Window + each reader's 64 KiB file buffer + slack for the runtime and the test.
	limit := uint64(window + clients*fileReadSize + 16<<20)
	t.Logf("body %d MiB to %d clients: heap peak +%.1f MiB (limit %.1f MiB), allocated %.1f MiB",
		size>>20, clients, float64(heapGrowth)/(1<<20), float64(limit)/(1<<20), float64(endMS.TotalAlloc-startMS.TotalAlloc)/(1<<20))
	require.Less(t, heapGrowth, limit, "heap grew beyond the memory window plus a constant")
	require.Less(t, endMS.TotalAlloc-startMS.TotalAlloc, uint64(64<<20), "allocations must not grow with the body")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "temp file removed")
}
