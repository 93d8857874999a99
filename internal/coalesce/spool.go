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
	// maxClientWrite is the most one write (or sendfile) to a client covers under one stall
	// deadline, as the memory window's chunks (maxHintedChunkSize): a client that takes less
	// than this within stall_timeout is cut.
	maxClientWrite = maxHintedChunkSize
)

// spool is the append-only body of a shared flight: one writer (the upstream), any number
// of readers that each start at byte 0 (or, for a leader that was served directly, where
// it left off) and go at their own pace. The first window bytes live in memory, the rest
// in a temp file, both charged to the Group's global budgets.
//
// When neither budget has room, the spool stops storing (lockstep): each write is lent to
// the readers as it is and the writer waits until every reader has taken it, so the
// upstream goes no faster than the readers. A lockstep spool takes no new reader.
//
// Memory chunks are never modified once published and never reused, so readers may hand
// slices of them to their clients without copying.
type spool struct {
	window int64
	dir    string
	// sizeHint is the declared body length (Content-Length), if any, set before the
	// first Write: a body that fits the window then takes one allocation.
	sizeHint int64
	mem      *budget
	spill    *budget
	// onLockstep is called once, by the writer, when the spool stops storing.
	onLockstep func()
	// onRemoveError reports a temp file that could not be removed.
	onRemoveError func(error)

	mu         sync.Mutex
	chunks     [][]byte // the last one may have spare capacity the writer fills next
	memLen     int64
	memCharged int64    // bytes charged to mem: the chunks' capacities
	file       *os.File // bytes [memLen, memLen+fileLen) at file offset pos-memLen
	fileLen    int64
	size       int64 // published bytes: stored ones, then the lent ones in lockstep
	lockstep   bool
	lent       []byte // lockstep: the writer's bytes [size-len(lent), size), valid while it waits
	closed     bool   // the writer is done
	err        error  // non-nil: the body is cut (wraps ErrUpstreamAborted)
	abandoned  bool   // no reader left: stop storing
	wake       chan struct{}
	writerWake chan struct{}
	readers    map[*spoolReader]struct{}
	refs       int // the writer plus every reader; the file goes with the last
}

// newSpool returns a spool whose first bytes are prefix (already charged to mem as
// prefixCharge bytes, a charge the spool takes over).
func newSpool(window int64, dir string, mem, spill *budget, prefix []byte, prefixCharge int64) *spool {
	s := &spool{window: window, dir: dir, mem: mem, spill: spill, refs: 1, readers: map[*spoolReader]struct{}{}}
	if len(prefix) > 0 {
		s.chunks = [][]byte{prefix}
		s.memLen, s.size = int64(len(prefix)), int64(len(prefix))
	}
	s.memCharged = prefixCharge
	return s
}

// Write appends p. Only the writer calls it; it copies p unless it lends it in lockstep,
// and then returns only when every reader is done with it: callers may reuse p at once.
func (s *spool) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n, err := s.store(p)
		if n == 0 && err == nil {
			n, err = s.lend(p)
		}
		written += n
		p = p[n:]
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// store keeps as much of p as the budgets allow; 0 with no error means no room at all.
func (s *spool) store(p []byte) (int, error) {
	if s.lockstep {
		return 0, nil
	}
	if s.file == nil && s.memLen < s.window {
		if n := s.appendMemory(p); n > 0 {
			return n, nil
		}
	}
	n, err := s.appendFile(p)
	if n == 0 && err == nil {
		s.mu.Lock()
		s.lockstep = true
		s.mu.Unlock()
		if s.onLockstep != nil {
			s.onLockstep()
		}
	}
	return n, err
}

// appendMemory copies as much of p as fits the current chunk (or a new one the memory
// budget allows) and publishes it. It returns 0 when the budget has no room.
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
		size = min(size, s.window-s.memLen)
		if !s.mem.tryAcquire(size) {
			return 0
		}
		s.memCharged += size
		last = make([]byte, 0, size)
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

// appendFile writes p to the spill file if the spill budget allows; 0 with no error
// means no room.
func (s *spool) appendFile(p []byte) (int, error) {
	p = p[:min(len(p), maxChunkSize)] // a large write may still use the room that is left
	if !s.spill.tryAcquire(int64(len(p))) {
		return 0, nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, spillPrefix+"*")
		if err != nil {
			s.spill.release(int64(len(p)))
			return 0, fmt.Errorf("%w: spill body beyond the memory window to a temp file in %q: %w (free disk space or set a writable spill_dir)",
				ErrUpstreamAborted, s.dir, err)
		}
		s.mu.Lock()
		s.file = f
		s.mu.Unlock()
	}
	n, err := s.file.Write(p)
	s.spill.release(int64(len(p) - n))
	s.mu.Lock()
	s.fileLen += int64(n)
	s.publishLocked(int64(n))
	s.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("%w: spill body to temp file %s: %w", ErrUpstreamAborted, s.file.Name(), err)
	}
	return n, nil
}

// lend publishes p without storing it and waits until every reader has taken it.
func (s *spool) lend(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lent = p
	s.publishLocked(int64(len(p)))
	defer func() { s.lent = nil }()
	for {
		if s.abandoned {
			return 0, errFlightAbandoned
		}
		if s.everyReaderPastLocked() {
			return len(p), nil
		}
		if s.writerWake == nil {
			s.writerWake = make(chan struct{})
		}
		wake := s.writerWake
		s.mu.Unlock()
		<-wake
		s.mu.Lock()
	}
}

func (s *spool) everyReaderPastLocked() bool {
	for r := range s.readers {
		if r.pos < s.size || r.holdsLent {
			return false
		}
	}
	return true
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

func (s *spool) wakeWriterLocked() {
	if s.writerWake != nil {
		close(s.writerWake)
		s.writerWake = nil
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

// addReader attaches a reader at pos (0, or where a directly served leader left off). It
// returns nil when bytes from pos on are no longer stored (lockstep).
func (s *spool) addReader(pos int64) *spoolReader {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lockstep && pos < s.size {
		return nil
	}
	r := &spoolReader{s: s}
	r.seekLocked(pos)
	s.readers[r] = struct{}{}
	s.refs++
	return r
}

// abandon marks the spool as having no reader left: later writes are dropped.
func (s *spool) abandon() {
	s.mu.Lock()
	s.abandoned = true
	s.wakeWriterLocked()
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
	file, fileLen, memCharged := s.file, s.fileLen, s.memCharged
	s.file, s.chunks, s.fileLen, s.memCharged = nil, nil, 0, 0
	s.mu.Unlock()
	s.mem.release(memCharged)
	if file == nil {
		return
	}
	closeErr := file.Close()
	if err := os.Remove(file.Name()); err != nil || closeErr != nil {
		s.onRemoveError(fmt.Errorf("remove spill file %s: close: %v, remove: %v", file.Name(), closeErr, err))
	}
	s.spill.release(fileLen)
}

// spoolReader reads a spool. It belongs to one goroutine; pos and holdsLent change under
// the spool's lock, since a writer in lockstep reads them.
type spoolReader struct {
	s         *spool
	pos       int64
	chunk     int // index of the chunk holding pos, while pos is in memory
	off       int // offset of pos in that chunk
	buf       []byte
	holdsLent bool // the last slice returned is the writer's lent bytes
	closed    bool
	file      *os.File // the reader's own descriptor of the spill file, for copySpilled
	noReopen  bool     // the spill file could not be opened again: read it with next
}

func (r *spoolReader) seekLocked(pos int64) {
	r.pos, r.chunk, r.off = pos, 0, 0
	rest := min(pos, r.s.memLen)
	for rest > 0 && r.chunk < len(r.s.chunks) {
		if c := int64(len(r.s.chunks[r.chunk])); rest > c {
			rest -= c
			r.chunk++
			continue
		}
		r.off = int(rest) // at a chunk's end, next moves on when the writer does
		return
	}
}

// close detaches the reader and drops its reference.
func (r *spoolReader) close() {
	if r == nil || r.closed {
		return
	}
	r.closed = true
	if r.file != nil {
		_ = r.file.Close() // read-only: nothing to lose
	}
	s := r.s
	s.mu.Lock()
	delete(s.readers, r)
	s.wakeWriterLocked()
	s.mu.Unlock()
	s.release()
}

// next returns the next published bytes, waiting for them if needed. The slice is valid
// until the next call and must not be modified. At the end it returns io.EOF for a
// complete body, an error wrapping ErrUpstreamAborted for a cut one, or the context's
// cause. idle is called before each wait, so the caller can flush what it wrote.
func (r *spoolReader) next(ctx context.Context, idle func()) ([]byte, error) {
	s := r.s
	s.mu.Lock()
	if r.holdsLent {
		r.holdsLent = false
		s.wakeWriterLocked()
	}
	for {
		switch stored := s.memLen + s.fileLen; {
		case r.pos < s.memLen:
			for r.off == len(s.chunks[r.chunk]) { // a full chunk: the writer moved on
				r.chunk, r.off = r.chunk+1, 0
			}
			data := s.chunks[r.chunk][r.off:]
			r.off += len(data)
			r.pos += int64(len(data))
			s.wakeWriterIfLockstepLocked()
			s.mu.Unlock()
			return data, nil
		case r.pos < stored:
			file, base := s.file, s.memLen
			s.mu.Unlock()
			if r.buf == nil {
				r.buf = make([]byte, fileReadSize)
			}
			want := min(int64(len(r.buf)), stored-r.pos)
			n, err := file.ReadAt(r.buf[:want], r.pos-base)
			if n == 0 && err != nil {
				return nil, fmt.Errorf("%w: read spilled body back from %s: %w", ErrUpstreamAborted, file.Name(), err)
			}
			s.mu.Lock()
			r.pos += int64(n)
			s.wakeWriterIfLockstepLocked()
			s.mu.Unlock()
			return r.buf[:n], nil
		case r.pos < s.size:
			start := s.size - int64(len(s.lent))
			data := s.lent[r.pos-start:]
			r.pos = s.size
			r.holdsLent = true
			s.mu.Unlock()
			return data, nil
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
			s.mu.Lock()
		}
	}
}

func (s *spool) wakeWriterIfLockstepLocked() {
	if s.lockstep {
		s.wakeWriterLocked()
	}
}
