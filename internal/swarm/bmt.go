package swarm

import (
	"encoding/binary"
	"hash"

	"golang.org/x/crypto/sha3"
)

const (
	// SpanSize is the length of a chunk's span prefix: the little-endian count of bytes
	// under the chunk.
	SpanSize = 8
	// ChunkSize is the largest payload of one chunk.
	ChunkSize = 4096
	// HashSize is the length of a reference.
	HashSize = 32
	// Branches is how many references an intermediate chunk holds.
	Branches = ChunkSize / HashSize
	// ChunkWithSpanSize is the largest span+payload body of one chunk.
	ChunkWithSpanSize = ChunkSize + SpanSize
	segmentSize       = HashSize
	segments          = ChunkSize / segmentSize // 128 leaves of the BMT
)

// zeroSubtree[d] is the BMT root of 32<<d zero bytes: padding hashes to the same value every
// time, so a short payload's empty right subtrees are looked up, not hashed.
var zeroSubtree = func() [8][HashSize]byte {
	var z [8][HashSize]byte
	h := sha3.NewLegacyKeccak256()
	for d := 1; d < len(z); d++ {
		h.Reset()
		h.Write(z[d-1][:])
		h.Write(z[d-1][:])
		h.Sum(z[d][:0])
	}
	return z
}()

// Hasher computes BMT chunk addresses with one reusable Keccak state. Not safe for
// concurrent use.
type Hasher struct {
	h     hash.Hash
	level [segments][HashSize]byte
	pad   [ChunkSize]byte
}

// NewHasher returns a BMT hasher.
func NewHasher() *Hasher { return &Hasher{h: sha3.NewLegacyKeccak256()} }

func (b *Hasher) keccak(dst []byte, parts ...[]byte) {
	b.h.Reset()
	for _, p := range parts {
		b.h.Write(p)
	}
	b.h.Sum(dst[:0])
}

// root is the BMT root of payload (at most ChunkSize bytes) zero-padded to ChunkSize: 128
// segments of 32 bytes hashed pairwise with Keccak-256 up to one 32-byte root.
func (b *Hasher) root(payload []byte) [HashSize]byte {
	if len(payload) > ChunkSize {
		payload = payload[:ChunkSize]
	}
	// Pad the last partial 64-byte pair into a scratch copy; full pairs are hashed in place.
	used := (len(payload) + 2*segmentSize - 1) / (2 * segmentSize) // non-zero leaf pairs
	n := 0
	for i := 0; i < used; i++ {
		pair := payload[i*2*segmentSize:]
		if len(pair) >= 2*segmentSize {
			b.keccak(b.level[i][:], pair[:2*segmentSize])
		} else {
			copy(b.pad[:], pair)
			clear(b.pad[len(pair) : 2*segmentSize])
			b.keccak(b.level[i][:], b.pad[:2*segmentSize])
		}
		n++
	}
	if n == 0 {
		return zeroSubtree[7]
	}
	// Fold depth 1 (64 nodes) up to depth 7 (the root); a missing right node is the root
	// of an all-zero subtree of that depth.
	for d := 1; d < 7; d++ {
		next := (n + 1) / 2
		for i := 0; i < next; i++ {
			right := zeroSubtree[d][:]
			if 2*i+1 < n {
				right = b.level[2*i+1][:]
			}
			var out [HashSize]byte
			b.keccak(out[:], b.level[2*i][:], right)
			b.level[i] = out
		}
		n = next
	}
	return b.level[0]
}

// Address is the content address of a chunk: keccak256(span || BMT root of payload). span
// is the 8-byte span as sent (a redundancy level may be encoded in its top byte).
func (b *Hasher) Address(span [SpanSize]byte, payload []byte) [HashSize]byte {
	r := b.root(payload)
	var out [HashSize]byte
	b.keccak(out[:], span[:], r[:])
	return out
}

// Span encodes a byte count as a little-endian span.
func Span(n uint64) [SpanSize]byte {
	var s [SpanSize]byte
	binary.LittleEndian.PutUint64(s[:], n)
	return s
}

// ChunkAddress is the address of a chunk given as span+payload (what POST /chunks takes).
// It reports false when data is shorter than a span or longer than ChunkWithSpanSize.
func ChunkAddress(data []byte) ([HashSize]byte, bool) {
	if len(data) < SpanSize || len(data) > ChunkWithSpanSize {
		return [HashSize]byte{}, false
	}
	return NewHasher().Address([SpanSize]byte(data[:SpanSize]), data[SpanSize:]), true
}

// Keccak256 is the legacy (pre-SHA-3) Keccak-256 Ethereum and Swarm use.
func Keccak256(parts ...[]byte) [HashSize]byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	var out [HashSize]byte
	h.Sum(out[:0])
	return out
}
