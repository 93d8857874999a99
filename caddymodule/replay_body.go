package caddymodule

import (
	"errors"
	"io"
	"sync"
)

// errReplayed ends the first attempt's read of an upload body that is being sent again.
var errReplayed = errors.New("upload body handed to a retry with another batch")

// replayableBody streams an injected upload to Bee as it arrives while keeping a copy of the
// first replayLimit bytes read. When Bee refuses the batch before it has read more than that
// (it checks the batch before reading, except for a batch that fills mid-upload), the upload
// can be sent once more with another batch: the kept head, then the rest of the client's
// stream. Nothing beyond replayLimit is ever held, and the upload is never delayed to fill a
// buffer first.
type replayableBody struct {
	// readMu serialises reads of src (held across the client's I/O); mu guards the fields
	// below and is never held across I/O, so release never waits for a stalled client.
	readMu   sync.Mutex
	mu       sync.Mutex // the proxy's transport may still read after it has answered
	src      io.Reader
	kept     []byte
	pooled   *[]byte // kept's backing array, from keptPool
	overflow bool    // more than replayLimit bytes were read: no replay
	detached bool    // replay() or release() took over
}

// keptPool recycles the replay buffers of large uploads: growing a fresh 1 MiB slice per
// upload cost more than the upload itself (measured: ~5 ms of a 6 ms 1 MiB upload).
var keptPool = sync.Pool{New: func() any { b := make([]byte, 0, replayLimit); return &b }}

// pooledAbove: uploads announcing more than this borrow a pooled buffer; smaller ones get
// an exact allocation.
const pooledAbove = 64 << 10

func newReplayableBody(src io.Reader, contentLength int64) *replayableBody {
	b := &replayableBody{src: src}
	if contentLength >= 0 && contentLength <= pooledAbove {
		b.kept = make([]byte, 0, contentLength)
	} else {
		b.pooled = keptPool.Get().(*[]byte)
		b.kept = (*b.pooled)[:0]
	}
	return b
}

// release ends the body's use of its buffer once the upload is over. A buffer handed to a
// replay may still be read by that attempt's transport, so it is left to the GC.
func (b *replayableBody) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached {
		return
	}
	b.detached = true
	if b.pooled != nil && cap(*b.pooled) == replayLimit {
		keptPool.Put(b.pooled)
	}
	b.pooled, b.kept = nil, nil
}

func (b *replayableBody) Read(p []byte) (int, error) {
	b.readMu.Lock()
	defer b.readMu.Unlock()
	b.mu.Lock()
	detached := b.detached
	b.mu.Unlock()
	if detached {
		return 0, errReplayed
	}
	n, err := b.src.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.detached:
		// Released while this read waited on the client: the buffer may serve another upload.
	case b.overflow:
	case len(b.kept)+n > replayLimit:
		b.overflow, b.kept = true, b.kept[:0]
	default:
		b.kept = append(b.kept, p[:n]...)
	}
	return n, err
}

// Close leaves the client's body open for a replay; the server closes it after the handler.
func (b *replayableBody) Close() error { return nil }

// replay detaches the first attempt and returns the whole body again, or false when more
// than replayLimit bytes of it have been read already.
func (b *replayableBody) replay() (io.ReadCloser, bool) {
	// Let a read in progress finish first: its bytes belong in the kept head.
	b.readMu.Lock()
	defer b.readMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.overflow || b.detached {
		return nil, false
	}
	b.detached = true
	b.pooled = nil // the replay owns it now
	return io.NopCloser(io.MultiReader(&byteReader{b: b.kept}, b.src)), true
}

// byteReader reads a kept head that nobody appends to any more.
type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
