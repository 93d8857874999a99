package caddymodule

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
)

func TestLargeDownloadWritesRaisesOnlyCaddysDefaultChunk(t *testing.T) {
	for _, tc := range []struct{ server, want int }{
		{caddyhttp.DefaultMaxWriteChunk, downloadWriteChunk},
		{0, downloadWriteChunk},
		{128 << 10, 128 << 10}, // the admin's max_write_chunk stands
		{8 << 20, 8 << 20},
	} {
		w := &caddyhttp.IdleTimeoutWriter{MaxChunk: tc.server}
		r := httptest.NewRequest("GET", "/bytes/x", nil)
		r = r.WithContext(caddyhttp.ContextWithIdleTimeouts(r.Context(), nil, w))
		largeDownloadWrites(r)
		require.Equal(t, tc.want, w.MaxChunk, "server max_write_chunk %d", tc.server)
	}
	// No write idle timeout (write_idle_timeout off): nothing to raise.
	largeDownloadWrites(httptest.NewRequest("GET", "/bytes/x", nil).WithContext(context.Background()))
}

// sourceRecorder records the reader each ReadFrom is handed: net's sendfile takes an
// *os.File under at most one *io.LimitedReader.
type sourceRecorder struct {
	*httptest.ResponseRecorder
	mu        sync.Mutex
	sendfile  int // calls whose source sendfile would take
	otherCall int
}

func (s *sourceRecorder) ReadFrom(src io.Reader) (int64, error) {
	inner := src
	if lr, ok := src.(*io.LimitedReader); ok {
		inner = lr.R
	}
	s.mu.Lock()
	if _, ok := inner.(*os.File); ok {
		s.sendfile++
	} else {
		s.otherCall++
	}
	s.mu.Unlock()
	return io.Copy(struct{ io.Writer }{s.ResponseRecorder}, src)
}

// Through Caddy's write idle writer, a coalesced follower's spilled bytes still reach
// ReadFrom in the shape sendfile takes (the idle writer adds its own LimitedReader: a
// piece of the coalescer's own under it hid the file), and the request's idle timeout is
// lowered to the stall timeout so that each of the server's pieces has that deadline.
func TestSpilledCopyThroughCaddysIdleWriterKeepsSendfile(t *testing.T) {
	const size = 4 << 20
	release := make(chan struct{})
	body := bytes.Repeat([]byte("swarm"), size/5+1)[:size]
	upstream := coalesce.Upstream(func(w http.ResponseWriter, r *http.Request) error {
		<-release
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for off := 0; off < size; off += 256 << 10 {
			if _, err := w.Write(body[off:min(off+256<<10, size)]); err != nil {
				return err
			}
		}
		return nil
	})
	g := coalesce.New(coalesce.Options{MemoryWindow: 64 << 10, StallTimeout: time.Second, TempDir: t.TempDir(),
		PacedWrites: pacedDownloadWrites})
	leader := make(chan error, 1)
	go func() {
		leader <- g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/bytes/x", nil), upstream)
	}()
	require.Eventually(t, func() bool { return g.Stats().MaxConcurrentWaiters == 1 }, 10*time.Second, time.Millisecond)

	rec := &sourceRecorder{ResponseRecorder: httptest.NewRecorder()}
	idle := &caddyhttp.IdleTimeoutWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: rec},
		Ctrl: http.NewResponseController(rec), Deadline: caddyhttp.IdleDeadline{Timeout: time.Minute}, MaxChunk: downloadWriteChunk, Logger: zap.NewNop()}
	r := httptest.NewRequest("GET", "/bytes/x", nil)
	r = r.WithContext(caddyhttp.ContextWithIdleTimeouts(r.Context(), nil, idle))
	follower := make(chan error, 1)
	go func() { follower <- g.ServeHTTP(idle, r, upstream) }()
	require.Eventually(t, func() bool { return g.Stats().MaxConcurrentWaiters == 2 }, 10*time.Second, time.Millisecond)
	close(release)
	require.NoError(t, <-leader)
	require.NoError(t, <-follower)

	require.Equal(t, body, rec.Body.Bytes())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Positive(t, rec.sendfile, "spilled bytes reached ReadFrom as a file")
	require.Zero(t, rec.otherCall, "every ReadFrom source was one sendfile can take")
	require.Equal(t, time.Second, idle.Deadline.Timeout, "the idle timeout was lowered to the stall timeout")
}
