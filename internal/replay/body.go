package replay

import (
	"errors"
	"io"
	"sync"
)

// ErrDetached ends reads of an attempt that no longer owns the body: it was handed to a replay,
// or the upload is over.
var ErrDetached = errors.New("upload body handed to a retry with another batch, or the upload is over")

// Body streams an upload as it arrives while keeping a copy of the first bytes read (up to
// Limit, within the Budget). When Bee refuses the upload's batch before more than that was
// read, Replay gives the whole body again: the kept head, then the rest of the client's
// stream. The upload is never delayed to fill a buffer first.
//
// The copy is given back to the budget as soon as it cannot serve a replay any more (more
// than Limit read) and, at the latest, at Release.
type Body struct {
	// readMu serialises reads of src by the first attempt (held across the client's I/O);
	// mu guards the fields below and is never held across I/O, so Release never waits for a
	// stalled client.
	readMu sync.Mutex
	mu     sync.Mutex

	src    io.Reader
	budget *Budget
	kept   []byte // the head read so far; nil without a copy
	copied bool   // kept came from the budget and is still reserved
	read   int64  // bytes the first attempt read from src
	state  bodyState
	noRoom bool // the budget had no room when the upload began
}

type bodyState int

const (
	streaming bodyState = iota // the first attempt reads
	replayed                   // Replay took over
	released                   // the upload is over
)

// NewBody wraps src, an upload announcing contentLength bytes (-1 when unknown). Without room
// in budget it streams with no copy (NoRoom reports it); a replay is then possible only while
// nothing has been read.
func NewBody(src io.Reader, contentLength int64, budget *Budget) *Body {
	b := &Body{src: src, budget: budget}
	if buf, ok := budget.acquire(contentLength); ok {
		b.kept, b.copied = buf, true
	} else {
		b.noRoom = true
	}
	return b
}

// NoRoom reports whether the upload streams without a replay copy because the budget was full.
func (b *Body) NoRoom() bool { return b.noRoom }

// Read reads the client's body for the first attempt, keeping what it returns.
func (b *Body) Read(p []byte) (int, error) {
	b.readMu.Lock()
	defer b.readMu.Unlock()
	b.mu.Lock()
	state := b.state
	b.mu.Unlock()
	if state != streaming {
		return 0, ErrDetached
	}
	n, err := b.src.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != streaming {
		// Released while this read waited on the client: the buffer may serve another upload.
		return n, err
	}
	b.read += int64(n)
	if b.copied {
		if len(b.kept)+n > cap(b.kept) {
			// Too much for a replay: the copy is useless from now on, give it back at once.
			b.dropCopyLocked()
		} else {
			b.kept = append(b.kept, p[:n]...)
		}
	}
	return n, err
}

// Close leaves the client's body open for a replay; the server closes it after the handler.
func (b *Body) Close() error { return nil }

// Replay ends the first attempt's use of the body and returns the whole body again, or false
// when part of what was read is not kept (over Limit, or no room in the budget). Only one
// replay is possible.
func (b *Body) Replay() (io.ReadCloser, bool) {
	// Let a read in progress finish first: its bytes belong in the kept head.
	b.readMu.Lock()
	defer b.readMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != streaming || (!b.copied && b.read > 0) {
		return nil, false
	}
	b.state = replayed
	return &replayReader{b: b}, true
}

// Release ends the upload: later reads fail, and the copy goes back to the budget.
func (b *Body) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = released
	b.dropCopyLocked()
}

func (b *Body) dropCopyLocked() {
	if b.copied {
		b.copied = false
		b.budget.release(b.kept)
	}
	b.kept = nil
}

// replayReader gives the kept head, then the rest of the client's stream. It reads the head
// under the body's lock, so a transport still reading after Release finds an error, never a
// buffer that already serves another upload.
type replayReader struct {
	b   *Body
	off int
}

func (r *replayReader) Read(p []byte) (int, error) {
	b := r.b
	b.mu.Lock()
	if b.state != replayed {
		b.mu.Unlock()
		return 0, ErrDetached
	}
	if r.off < len(b.kept) {
		n := copy(p, b.kept[r.off:])
		r.off += n
		b.mu.Unlock()
		return n, nil
	}
	b.dropCopyLocked() // the head went out again; a second replay never comes
	b.mu.Unlock()
	return b.src.Read(p)
}

// Close leaves the client's body open; the server closes it after the handler.
func (r *replayReader) Close() error { return nil }
