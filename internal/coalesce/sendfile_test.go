package coalesce

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// readFromWriter is a testWriter that also takes ReadFrom, recording whether it was handed
// the shape net's sendfile takes (an *io.LimitedReader over an *os.File).
type readFromWriter struct {
	*testWriter
	mu       sync.Mutex
	fileHits int
	fromFile int64
}

func (w *readFromWriter) ReadFrom(src io.Reader) (int64, error) {
	inner := src
	if lr, ok := src.(*io.LimitedReader); ok {
		inner = lr.R
	}
	n, err := io.Copy(writerOnly{w.testWriter}, src)
	if _, ok := inner.(*os.File); ok {
		w.mu.Lock()
		w.fileHits++
		w.fromFile += n
		w.mu.Unlock()
	}
	return n, err
}

func TestSpilledBytesReachReadFromAsFile(t *testing.T) {
	body := pattern(3 << 20)
	g := New(Options{MemoryWindow: 256 << 10, TempDir: t.TempDir()})
	gt := newGate()
	leader := serveAsync(g, newTestWriter(), get("http://gw/bytes/spill"), gt.upstream)
	gt.call(t)
	gt.send(t, body[:64<<10])
	// A follower joins after the first 64 KiB; every byte past the 256 KiB memory window
	// is in the spill file, which the follower reads with copySpilled.
	fw := &readFromWriter{testWriter: newTestWriter()}
	out := make(chan error, 1)
	r := get("http://gw/bytes/spill")
	waitReady := make(chan struct{})
	go func() {
		close(waitReady)
		out <- g.ServeHTTP(fw, r, gt.upstream)
	}()
	<-waitReady
	waitFor(t, "follower joined", func() bool { return g.waitersOn(r) == 2 })
	for off := 64 << 10; off < len(body); off += 256 << 10 {
		gt.send(t, body[off:min(off+256<<10, len(body))])
	}
	close(gt.release)
	require.NoError(t, await(t, leader).err)
	require.NoError(t, <-out)
	require.True(t, bytes.Equal(body, fw.Body()), "the follower got the body byte for byte")
	fw.mu.Lock()
	defer fw.mu.Unlock()
	require.Positive(t, fw.fileHits, "spilled bytes went to ReadFrom as a file")
	require.Greater(t, fw.fromFile, int64(len(body))/2, "most of the body came from the file")
}

func TestCopyFileRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := pattern(100 << 10)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	for _, w := range []interface {
		io.Writer
		Body() []byte
	}{newTestWriter(), &readFromWriter{testWriter: newTestWriter()}} {
		n, err := CopyFileRange(w, f, 1000, 50<<10)
		require.NoError(t, err)
		require.EqualValues(t, 50<<10, n)
		n, err = CopyFileRange(w, f, 90<<10, -1) // to the end
		require.NoError(t, err)
		require.EqualValues(t, 10<<10, n)
		require.Equal(t, append(slices.Clone(data[1000:1000+50<<10]), data[90<<10:]...), w.Body())
	}
}
