package swarm

import (
	"encoding/binary"
	"sync"

	"github.com/cloudflare/circl/simd/keccakf1600"
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
	bmtDepth          = 7                       // log2(segments)

	// A BMT node hashes two 32-byte children: 64 bytes, eight Keccak lanes, in one block.
	nodeLanes = 2 * HashSize / 8
	hashLanes = HashSize / 8
)

// x4Mode is how a Hasher runs four node hashes at once.
type x4Mode uint8

const (
	x4None   x4Mode = iota // one node at a time: circl's generic four-way code is slower
	x4AVX2                 // circl's StateX4
	x4AVX512               // keccakavx512_amd64.s, eight at a time too; about twice circl's speed
)

// bestX4 is the fastest four-way permutation this CPU runs.
var bestX4 = func() x4Mode {
	switch {
	case avx512Enabled:
		return x4AVX512
	case keccakf1600.IsEnabledX4():
		return x4AVX2
	}
	return x4None
}()

// zeroSubtree[d] is the BMT root of 32<<d zero bytes, as lanes: padding hashes to the same
// value every time, so a short payload's empty right subtrees are looked up, not hashed.
var zeroSubtree = func() [bmtDepth + 1][hashLanes]uint64 {
	var z [bmtDepth + 1][hashLanes]uint64
	for d := 1; d < len(z); d++ {
		var msg [nodeLanes]uint64
		copy(msg[:hashLanes], z[d-1][:])
		copy(msg[hashLanes:], z[d-1][:])
		hashNodeScalar(z[d][:], msg[:])
	}
	return z
}()

// Hasher computes BMT chunk addresses. It keeps the tree's nodes as Keccak lanes (a parent's
// input is its children's output lanes side by side, so nothing is serialised to bytes but
// the address) and hashes each level four nodes at a time where the CPU allows. A reused
// Hasher allocates nothing per chunk. Not safe for concurrent use.
type Hasher struct {
	x4    x4Mode
	perm  keccakf1600.StateX4
	state []uint64 // perm's 32-byte aligned, interleaved lanes of four states
	// tree holds the payload as eight lanes per 64-byte leaf pair, then, hashed in place,
	// each level's nodes at four lanes each (with room for a zero right sibling).
	tree [segments / 2 * nodeLanes]uint64
	// trees is tree for batchChunks chunks side by side, allocated on first use.
	trees *[batchChunks * segments / 2 * nodeLanes]uint64
}

// batchChunks is how many full chunks fullAddresses hashes together.
const batchChunks = 4

// NewHasher returns a BMT hasher.
func NewHasher() *Hasher { return newHasher(bestX4) }

// newHasher lets tests force a slower mode (the one-block fallback above all) than the CPU's
// best.
func newHasher(x4 x4Mode) *Hasher {
	h := &Hasher{x4: x4}
	h.state = h.perm.Initialize(false) // 24 rounds: real Keccak, not the 12-round turbo
	return h
}

// hashNodeScalar hashes one 64-byte node given as eight lanes into four output lanes.
func hashNodeScalar(out, in []uint64) {
	var s [25]uint64
	copy(s[:nodeLanes], in[:nodeLanes])
	s[nodeLanes] = 0x01
	s[rateLanes-1] = padLast
	keccakF1600(&s)
	copy(out[:hashLanes], s[:hashLanes])
}

// hashNodes hashes n 64-byte messages, in[8i:8i+8], into out[4i:4i+4], eight or four at a
// time with SIMD. out may be in itself: a batch's outputs land only on inputs already read.
func (b *Hasher) hashNodes(out, in []uint64, n int) {
	i := 0
	if b.x4 == x4AVX512 {
		// Eight permutations on 512-bit registers cost 1.7 times four on 256-bit ones, and
		// this one also transposes nodes to lanes and back in registers.
		for ; n-i >= 8; i += 8 {
			hashNodesX8AVX512((*[8 * hashLanes]uint64)(out[hashLanes*i:]), (*[8 * nodeLanes]uint64)(in[nodeLanes*i:]))
		}
	}
	if b.x4 != x4None {
		st := (*[100]uint64)(b.state)
		// A batch of two or three beats as many one-block hashes; with AVX-512 even a batch
		// of one does.
		for ; n-i > 1 || (i < n && b.x4 == x4AVX512); i += 4 {
			k := min(4, n-i)
			if k == 4 {
				src := (*[4 * nodeLanes]uint64)(in[nodeLanes*i:])
				for j := range nodeLanes {
					st[4*j], st[4*j+1], st[4*j+2], st[4*j+3] = src[j], src[nodeLanes+j], src[2*nodeLanes+j], src[3*nodeLanes+j]
				}
			} else {
				for j := range nodeLanes {
					for m := range k {
						st[4*j+m] = in[nodeLanes*(i+m)+j]
					}
				}
			}
			for m := range 4 {
				st[4*nodeLanes+m] = 0x01
				st[4*(rateLanes-1)+m] = padLast
			}
			clear(st[4*(nodeLanes+1) : 4*(rateLanes-1)])
			clear(st[4*rateLanes:])
			b.permute4(st)
			if k == 4 {
				dst := (*[4 * hashLanes]uint64)(out[hashLanes*i:])
				for j := range hashLanes {
					dst[j], dst[hashLanes+j], dst[2*hashLanes+j], dst[3*hashLanes+j] = st[4*j], st[4*j+1], st[4*j+2], st[4*j+3]
				}
			} else {
				for j := range hashLanes {
					for m := range k {
						out[hashLanes*(i+m)+j] = st[4*j+m]
					}
				}
			}
		}
	}
	for ; i < n; i++ {
		hashNodeScalar(out[hashLanes*i:], in[nodeLanes*i:])
	}
}

// permute4 runs the four interleaved permutations of b.state.
func (b *Hasher) permute4(st *[100]uint64) {
	if b.x4 == x4AVX512 {
		permuteX4AVX512(st)
	} else {
		b.perm.Permute()
	}
}

// rootLanes is the BMT root of payload (at most ChunkSize bytes) zero-padded to ChunkSize:
// 128 segments of 32 bytes hashed pairwise with Keccak-256 up to one 32-byte root.
func (b *Hasher) rootLanes(payload []byte) [hashLanes]uint64 {
	if len(payload) > ChunkSize {
		payload = payload[:ChunkSize]
	}
	n := (len(payload) + 2*segmentSize - 1) / (2 * segmentSize) // non-zero leaf pairs
	if n == 0 {
		return zeroSubtree[bmtDepth]
	}
	l := b.tree[:]
	full := len(payload) / 8
	for i := range full {
		l[i] = binary.LittleEndian.Uint64(payload[8*i:])
	}
	if rest := payload[8*full:]; len(rest) > 0 {
		var tail [8]byte
		copy(tail[:], rest)
		l[full] = binary.LittleEndian.Uint64(tail[:])
		full++
	}
	clear(l[full : n*nodeLanes])
	b.hashNodes(l, l, n)
	// Fold depth 1 (up to 64 nodes) to depth 7 (the root); a missing right node is the
	// root of an all-zero subtree of that depth.
	for d := 1; d < bmtDepth; d++ {
		if n%2 == 1 {
			copy(l[n*hashLanes:], zeroSubtree[d][:])
			n++
		}
		n /= 2
		b.hashNodes(l, l, n)
	}
	return [hashLanes]uint64(l[:hashLanes])
}

// fullAddresses sets dst[c] to the address of chunk c, payloads[c*ChunkSize:(c+1)*ChunkSize],
// under span, for batchChunks full chunks. Their trees are hashed level by level together,
// so that the SIMD batches run full up to the roots and the span hashes, where one chunk
// alone leaves them half or three-quarters idle.
func (b *Hasher) fullAddresses(dst *[batchChunks][HashSize]byte, span [SpanSize]byte, payloads []byte) {
	payloads = payloads[:batchChunks*ChunkSize]
	if b.x4 == x4None {
		for c := range dst {
			dst[c] = b.Address(span, payloads[c*ChunkSize:(c+1)*ChunkSize])
		}
		return
	}
	if b.trees == nil {
		b.trees = new([batchChunks * segments / 2 * nodeLanes]uint64)
	}
	l := b.trees[:]
	for i := range l {
		l[i] = binary.LittleEndian.Uint64(payloads[8*i:])
	}
	// Chunk c's nodes of a level stay contiguous and in order: message i of a level is
	// nodes 2i and 2i+1 of the level below, and every level halves each chunk's count.
	for n := batchChunks * segments / 2; n >= batchChunks; n /= 2 {
		b.hashNodes(l, l, n)
	}
	st := (*[100]uint64)(b.state)
	spanLane := binary.LittleEndian.Uint64(span[:])
	for c := range batchChunks {
		st[c] = spanLane
		for j := range hashLanes {
			st[4*(1+j)+c] = l[hashLanes*c+j]
		}
		st[4*(1+hashLanes)+c] = 0x01
		st[4*(rateLanes-1)+c] = padLast
	}
	clear(st[4*(2+hashLanes) : 4*(rateLanes-1)])
	clear(st[4*rateLanes:])
	b.permute4(st)
	for c := range batchChunks {
		dst[c] = lanesBytes([]uint64{st[c], st[4+c], st[8+c], st[12+c]})
	}
}

// root is the BMT root of payload as bytes.
func (b *Hasher) root(payload []byte) [HashSize]byte {
	r := b.rootLanes(payload)
	return lanesBytes(r[:])
}

// Address is the content address of a chunk: keccak256(span || BMT root of payload). span
// is the 8-byte span as sent (a redundancy level may be encoded in its top byte).
func (b *Hasher) Address(span [SpanSize]byte, payload []byte) [HashSize]byte {
	r := b.rootLanes(payload)
	var s [25]uint64
	s[0] = binary.LittleEndian.Uint64(span[:])
	copy(s[1:1+hashLanes], r[:])
	s[1+hashLanes] = 0x01 // 40 bytes absorbed, then the padding
	s[rateLanes-1] = padLast
	out := b.squeeze(&s)
	return lanesBytes(out[:])
}

// squeeze permutes the one-block state s and returns the hash's four lanes, on AVX-512's
// four-way code when there is (faster with three states idle than the one-state code).
func (b *Hasher) squeeze(s *[25]uint64) [hashLanes]uint64 {
	if b.x4 != x4AVX512 {
		keccakF1600(s)
		return [hashLanes]uint64(s[:hashLanes])
	}
	st := (*[100]uint64)(b.state)
	for i := range s {
		st[4*i] = s[i]
	}
	permuteX4AVX512(st)
	return [hashLanes]uint64{st[0], st[4], st[8], st[12]}
}

// Span encodes a byte count as a little-endian span.
func Span(n uint64) [SpanSize]byte {
	var s [SpanSize]byte
	binary.LittleEndian.PutUint64(s[:], n)
	return s
}

// hashers keeps Hashers for one-off addresses and finished TreeWriters: a Hasher is 4 to 20
// KiB, too much to allocate for every chunk or body a cache verifies or a simulator stores.
var hashers = sync.Pool{New: func() any { return NewHasher() }}

// ChunkAddress is the address of a chunk given as span+payload (what POST /chunks takes).
// It reports false when data is shorter than a span or longer than ChunkWithSpanSize.
func ChunkAddress(data []byte) ([HashSize]byte, bool) {
	if len(data) < SpanSize || len(data) > ChunkWithSpanSize {
		return [HashSize]byte{}, false
	}
	h := hashers.Get().(*Hasher)
	addr := h.Address([SpanSize]byte(data[:SpanSize]), data[SpanSize:])
	hashers.Put(h)
	return addr, true
}
