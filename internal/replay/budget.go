// Package replay keeps the head of a streaming upload so that it can be sent a second time
// (when Bee refuses the batch an upload was sent with), under a process-wide bound on the
// memory all such copies hold together, and ends uploads whose client goes silent.
package replay

import "sync"

const (
	// Limit is the most of one upload that is kept for a replay. Bee checks the batch
	// before it reads a body, so a rejection almost always comes within the first bytes.
	Limit = 1 << 20

	// exactBelow: an upload announcing at most this many bytes gets a buffer of exactly its
	// size; larger or unannounced ones take a full Limit buffer from the free list.
	exactBelow = 64 << 10

	// DefaultMaxIdle is how many full buffers the free list keeps for reuse. More would
	// pin memory after a burst of uploads; fewer would allocate 1 MiB per large upload.
	DefaultMaxIdle = 8
)

// Budget bounds the memory held by replay copies: the buffers of live uploads plus the idle
// buffers kept for reuse never exceed max together. An upload that finds no room streams
// without a copy. Released full-size buffers go to a short free list; the rest are garbage
// at once, so a burst leaves at most maxIdle buffers behind.
type Budget struct {
	mu      sync.Mutex
	max     int64
	held    int64    // bytes reserved by live uploads
	idle    [][]byte // free full-size buffers (len 0, cap Limit)
	maxIdle int

	noRoom int64 // uploads that found no room, for stats
}

// NewBudget returns a budget of max bytes keeping at most DefaultMaxIdle free buffers.
func NewBudget(max int64) *Budget {
	b := &Budget{maxIdle: DefaultMaxIdle}
	b.SetMax(max)
	return b
}

// SetMax changes the bound (a config reload). Uploads holding more than a smaller bound keep
// their copies; new ones get room once enough of those have ended.
func (b *Budget) SetMax(max int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max = max
	b.trimLocked(0)
}

// SetMaxIdle changes how many free buffers are kept for reuse.
func (b *Budget) SetMaxIdle(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.maxIdle = max(n, 0)
	b.trimLocked(0)
}

// Stats is a snapshot of a budget.
type Stats struct {
	Max    int64 // the bound
	Held   int64 // bytes reserved by live uploads
	Idle   int64 // bytes in free buffers kept for reuse
	NoRoom int64 // uploads that streamed without a copy because the bound was reached
}

// Stats returns the budget's current figures.
func (b *Budget) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Max: b.max, Held: b.held, Idle: int64(len(b.idle)) * Limit, NoRoom: b.noRoom}
}

// Held is the number of bytes reserved by live uploads.
func (b *Budget) Held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// acquire reserves a buffer for an upload announcing contentLength bytes (-1: unknown). It
// returns false, and reserves nothing, when the bound has no room for it.
func (b *Budget) acquire(contentLength int64) ([]byte, bool) {
	size := int64(Limit)
	if contentLength >= 0 && contentLength <= exactBelow {
		size = contentLength
	}
	b.mu.Lock()
	if size == Limit && len(b.idle) > 0 {
		// Moving a buffer from idle to held keeps the total unchanged.
		buf := b.idle[len(b.idle)-1]
		b.idle[len(b.idle)-1] = nil
		b.idle = b.idle[:len(b.idle)-1]
		b.held += size
		b.mu.Unlock()
		return buf, true
	}
	b.trimLocked(size) // idle buffers give way to a live upload
	if b.held+b.idleBytesLocked()+size > b.max {
		b.noRoom++
		b.mu.Unlock()
		return nil, false
	}
	b.held += size
	b.mu.Unlock()
	return make([]byte, 0, size), true // allocated outside the lock
}

// release gives back a buffer acquire returned; nobody may use it afterwards.
func (b *Budget) release(buf []byte) {
	size := int64(cap(buf))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held -= size
	if size == Limit && len(b.idle) < b.maxIdle && b.held+b.idleBytesLocked()+size <= b.max {
		b.idle = append(b.idle, buf[:0])
	}
}

// trimLocked drops idle buffers until the bound has room for extra more bytes, and to
// maxIdle at most.
func (b *Budget) trimLocked(extra int64) {
	for len(b.idle) > 0 && (len(b.idle) > b.maxIdle || b.held+b.idleBytesLocked()+extra > b.max) {
		b.idle[len(b.idle)-1] = nil
		b.idle = b.idle[:len(b.idle)-1]
	}
}

func (b *Budget) idleBytesLocked() int64 { return int64(len(b.idle)) * Limit }
