package coalesce

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// Chunk sizes of a spool's memory part: small bodies stay small, large ones avoid many
// allocations.
const (
	firstChunkSize = 4 << 10
	maxChunkSize   = 64 << 10
	// maxHintedChunkSize caps the first chunk sized from Content-Length.
	maxHintedChunkSize = 1 << 20
	// fileReadSize is each reader's own buffer for the spilled part.
	fileReadSize = 32 << 10
)

// spool is the append-only body of one flight: one writer (the upstream), any number of
// readers that each start at byte 0 and go at their own pace. The first window bytes
// live in memory, the rest in a temp file. The writer never waits for readers.
//
// Memory chunks are never modified once published and never reused, so readers may hand
// slices of them to their clients without copying.
type spool struct {
	window int64
	dir    string
	// sizeHint is the declared body length (Content-Length), if any, set by the writer
	// before its first Write: a body that fits the window then takes one allocation.
	sizeHint int64

	mu        sync.Mutex
	chunks    [][]byte // the last one may have spare capacity the writer fills next
	memLen    int64
	size      int64    // published bytes, memory and file together
	file      *os.File // bytes [window, size) at file offset pos-window
	closed    bool     // the writer is done
	err       error    // non-nil: the body is cut (wraps ErrUpstreamAborted)
	abandoned bool     // no reader left: stop storing
	wake      chan struct{}
	refs      int // the writer plus every reader; the file goes with the last
	// onRemoveError reports a temp file that could not be removed.
	onRemoveError func(error)
}

func newSpool(window int64, dir string, onRemoveError func(error)) *spool {
	return &spool{window: window, dir: dir, refs: 1, onRemoveError: onRemoveError}
}

// Write appends p. Only the writer calls it; it copies p, so callers may reuse p at once.
func (s *spool) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		var n int
		var err error
		if s.memLen < s.window {
			n = s.appendMemory(p)
		} else {
			n, err = s.appendFile(p)
		}
		written += n
		p = p[n:]
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// appendMemory copies as much of p as fits the current chunk (or a new one) and
// publishes it.
func (s *spool) appendMemory(p []byte) int {
	var last []byte
	if len(s.chunks) > 0 {
		last = s.chunks[len(s.chunks)-1]
	}
	fresh := last == nil || len(last) == cap(last)
	if fresh {
		size := int64(firstChunkSize)
		switch {
		case last != nil:
			size = min(int64(cap(last))*2, maxChunkSize)
		case s.sizeHint > 0:
			size = min(s.sizeHint, maxHintedChunkSize)
		}
		last = make([]byte, 0, min(size, s.window-s.memLen))
	}
	// The bytes beyond len(last) are invisible to readers until published below.
	n := copy(last[len(last):cap(last)], p)
	last = last[:len(last)+n]

	s.mu.Lock()
	defer s.mu.Unlock()
	if fresh {
		s.chunks = append(s.chunks, last)
	} else {
		s.chunks[len(s.chunks)-1] = last
	}
	s.memLen += int64(n)
	s.publishLocked(int64(n))
	return n
}

func (s *spool) appendFile(p []byte) (int, error) {
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, spillPrefix+"*")
		if err != nil {
			return 0, fmt.Errorf("%w: spill body beyond the memory window to a temp file in %q: %w (free disk space or set a writable temp dir)",
				ErrUpstreamAborted, s.dir, err)
		}
		s.mu.Lock()
		s.file = f
		s.mu.Unlock()
	}
	n, err := s.file.Write(p)
	s.mu.Lock()
	s.publishLocked(int64(n))
	s.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("%w: spill body to temp file %s: %w", ErrUpstreamAborted, s.file.Name(), err)
	}
	return n, nil
}

func (s *spool) publishLocked(n int64) {
	s.size += n
	s.wakeLocked()
}

func (s *spool) wakeLocked() {
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}

// abandonedNow reports whether every reader left, so the writer can stop.
func (s *spool) abandonedNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abandoned
}

// finish ends the body: err == nil is a complete body, anything else a cut one.
func (s *spool) finish(err error) {
	s.mu.Lock()
	s.closed = true
	s.err = aborted(err)
	s.wakeLocked()
	s.mu.Unlock()
}

// acquire adds a reader reference; callers hold a reference already (the writer's) or
// know the spool is alive.
func (s *spool) acquire() {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
}

// abandon marks the spool as having no reader left: later writes are dropped.
func (s *spool) abandon() {
	s.mu.Lock()
	s.abandoned = true
	s.mu.Unlock()
}

// release drops a reference; the last one closes and removes the temp file and lets the
// memory go.
func (s *spool) release() {
	s.mu.Lock()
	s.refs--
	if s.refs > 0 {
		s.mu.Unlock()
		return
	}
	file := s.file
	s.file, s.chunks = nil, nil
	s.mu.Unlock()
	if file == nil {
		return
	}
	closeErr := file.Close()
	if err := os.Remove(file.Name()); err != nil || closeErr != nil {
		s.onRemoveError(fmt.Errorf("remove spill file %s: close: %v, remove: %v", file.Name(), closeErr, err))
	}
}

// spoolReader reads a spool from byte 0. It belongs to one goroutine.
type spoolReader struct {
	s     *spool
	pos   int64
	chunk int // index of the chunk holding pos, while pos is in memory
	off   int // offset of pos in that chunk
	buf   []byte
}

// next returns the next published bytes, waiting for them if needed. The slice is valid
// until the next call and must not be modified. At the end it returns io.EOF for a
// complete body, an error wrapping ErrUpstreamAborted for a cut one, or the context's
// error. idle is called before each wait, so the caller can flush what it wrote.
func (r *spoolReader) next(ctx context.Context, idle func()) ([]byte, error) {
	s := r.s
	for {
		s.mu.Lock()
		switch {
		case r.pos < s.memLen:
			for r.off == len(s.chunks[r.chunk]) { // a full chunk: the writer moved on
				r.chunk, r.off = r.chunk+1, 0
			}
			data := s.chunks[r.chunk][r.off:]
			s.mu.Unlock()
			r.off += len(data)
			r.pos += int64(len(data))
			return data, nil
		case r.pos < s.size:
			file, end := s.file, s.size
			s.mu.Unlock()
			if r.buf == nil {
				r.buf = make([]byte, fileReadSize)
			}
			want := min(int64(len(r.buf)), end-r.pos)
			n, err := file.ReadAt(r.buf[:want], r.pos-s.window)
			r.pos += int64(n)
			if n == 0 && err != nil {
				return nil, fmt.Errorf("%w: read spilled body back from %s: %w", ErrUpstreamAborted, file.Name(), err)
			}
			return r.buf[:n], nil
		case s.closed:
			err := s.err
			s.mu.Unlock()
			if err == nil {
				return nil, io.EOF
			}
			return nil, err
		default:
			if s.wake == nil {
				s.wake = make(chan struct{})
			}
			wake := s.wake
			s.mu.Unlock()
			if idle != nil {
				idle()
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
	}
}
