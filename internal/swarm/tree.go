package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// ChunkKind says what role a chunk plays in an upload.
type ChunkKind uint8

// Chunk kinds.
const (
	KindData         ChunkKind = iota // a leaf holding up to 4096 bytes of content
	KindIntermediate                  // references to child chunks
	KindParity                        // an erasure-coding parity chunk (redundancy level > 0)
	KindReplica                       // a dispersed replica of the root chunk (level > 0)
)

// Chunk is one chunk a TreeWriter produced. Data (span+payload) is only valid during the
// callback; it is nil for root replicas (single-owner chunks signed with Bee's fixed replica
// key, whose address alone is computed).
type Chunk struct {
	Address [HashSize]byte
	Data    []byte
	Kind    ChunkKind
}

type childRef struct {
	addr [HashSize]byte
	span uint64
	// data is the chunk's span+payload zero-padded to ChunkWithSpanSize: an erasure-coding
	// shard of its parent's group. Kept only above level 0.
	data []byte
}

// TreeWriter builds Swarm's chunk tree of a byte stream as Bee's /bytes pipeline does
// (pkg/file/pipeline/hashtrie): 4096-byte data chunks, intermediate chunks of up to 128
// references (fewer at a redundancy level, the rest being parities) whose span is the
// number of content bytes under them, and a lone reference at the end of a level carried
// up unwrapped. It streams: memory is one chunk per tree level, whatever the size.
//
// Above level 0 every group of sibling chunks (the children of one intermediate chunk) gets
// Reed-Solomon parity chunks as in Bee's pkg/file/redundancy: each child's span+payload,
// zero-padded to 4104 bytes, is a shard; klauspost/reedsolomon (the library Bee uses) makes
// the parity shards, each stored as a chunk (its first 8 bytes as span), their references
// following the data references; the intermediate span carries the level in its top byte.
// Dispersed replicas of the root are addressed as Bee's pkg/replicas does. Memory is then up
// to 128 shards of 4104 bytes per tree level.
type TreeWriter struct {
	level       Level
	maxChildren int
	emit        func(Chunk) error
	hasher      *Hasher
	leaf        [ChunkWithSpanSize]byte
	fill        int  // payload bytes in leaf
	quiet       bool // no emit and no shards: full leaves need not be copied into leaf
	levels      [][]childRef
	spare       [][]byte // shard buffers whose parent is done: reused, not reallocated per chunk
	inter       [ChunkWithSpanSize]byte
	leaves      int
	err         error
	done        bool
}

// NewTreeWriter returns a writer that calls emit for every chunk it produces (emit may be
// nil) and returns the root reference from Sum.
func NewTreeWriter(level Level, emit func(Chunk) error) *TreeWriter {
	quiet := emit == nil && level == LevelNone
	if emit == nil {
		emit = func(Chunk) error { return nil }
	}
	maxChildren := Branches
	if level != LevelNone {
		maxChildren = level.MaxShards()
	}
	return &TreeWriter{level: level, maxChildren: maxChildren, emit: emit, hasher: hashers.Get().(*Hasher), quiet: quiet}
}

var errWriteAfterSum = errors.New("swarm: write after Sum")

// Write adds content. An error from emit stops the writer and is returned from then on.
func (t *TreeWriter) Write(p []byte) (int, error) {
	if t.done {
		return 0, errWriteAfterSum
	}
	written := 0
	for len(p) > 0 && t.err == nil {
		if t.fill == 0 && len(p) >= batchChunks*ChunkSize {
			n, err := t.flushFullLeaves(p[:batchChunks*ChunkSize])
			p = p[batchChunks*ChunkSize:]
			written += n
			t.err = err
			continue
		}
		n := copy(t.leaf[SpanSize+t.fill:], p)
		t.fill += n
		p = p[n:]
		written += n
		if t.fill == ChunkSize {
			t.err = t.flushLeaf()
		}
	}
	return written, t.err
}

func (t *TreeWriter) flushLeaf() error {
	span := uint64(t.fill)
	binary.LittleEndian.PutUint64(t.leaf[:SpanSize], span)
	data := t.leaf[:SpanSize+t.fill]
	addr := t.hasher.Address([SpanSize]byte(data[:SpanSize]), data[SpanSize:])
	t.fill = 0
	t.leaves++
	if err := t.emit(Chunk{Address: addr, Data: data, Kind: KindData}); err != nil {
		return err
	}
	return t.push(0, childRef{addr: addr, span: span, data: t.shard(data)})
}

// flushFullLeaves adds batchChunks full data chunks straight from the caller's bytes, their
// addresses hashed together. It returns how many bytes it took (up to the chunk whose emit
// failed).
func (t *TreeWriter) flushFullLeaves(block []byte) (int, error) {
	var addrs [batchChunks][HashSize]byte
	span := Span(ChunkSize)
	t.hasher.fullAddresses(&addrs, span, block)
	copy(t.leaf[:SpanSize], span[:])
	for c, addr := range addrs {
		payload := block[c*ChunkSize : (c+1)*ChunkSize]
		data := t.leaf[:]
		if !t.quiet {
			copy(data[SpanSize:], payload)
		}
		t.leaves++
		if err := t.emit(Chunk{Address: addr, Data: data, Kind: KindData}); err != nil {
			return (c + 1) * ChunkSize, err
		}
		if err := t.push(0, childRef{addr: addr, span: ChunkSize, data: t.shard(data)}); err != nil {
			return (c + 1) * ChunkSize, err
		}
	}
	return len(block), nil
}

// pushLeaf adds a data chunk whose address is already known (BytesLevel hashes the leaves
// once for every level it tries); at a redundancy level its shard is built from payload.
func (t *TreeWriter) pushLeaf(addr [HashSize]byte, payload []byte) error {
	var data []byte
	if t.level != LevelNone {
		data = t.buffer()
		binary.LittleEndian.PutUint64(data[:SpanSize], uint64(len(payload)))
		clear(data[SpanSize+copy(data[SpanSize:], payload):])
	}
	t.leaves++
	return t.push(0, childRef{addr: addr, span: uint64(len(payload)), data: data})
}

// shard keeps a chunk's data, zero-padded, for its parent's erasure coding.
func (t *TreeWriter) shard(data []byte) []byte {
	if t.level == LevelNone {
		return nil
	}
	out := t.buffer()
	clear(out[copy(out, data):])
	return out
}

// shardBuffers keeps the shard buffers of finished writers: a cache verifying one body
// after another at a redundancy level would otherwise allocate a fresh 4 KiB per chunk.
var shardBuffers = sync.Pool{New: func() any { return new([ChunkWithSpanSize]byte) }}

// buffer is a ChunkWithSpanSize byte slice, a spare one when there is.
func (t *TreeWriter) buffer() []byte {
	if n := len(t.spare); n > 0 {
		b := t.spare[n-1]
		t.spare = t.spare[:n-1]
		return b
	}
	return shardBuffers.Get().(*[ChunkWithSpanSize]byte)[:]
}

// releaseBuffers hands the hasher and the spare shard buffers to other writers once the
// tree is done.
func (t *TreeWriter) releaseBuffers() {
	for _, b := range t.spare {
		shardBuffers.Put((*[ChunkWithSpanSize]byte)(b))
	}
	t.spare = nil
	hashers.Put(t.hasher)
	t.hasher = nil
}

func (t *TreeWriter) push(level int, ref childRef) error {
	for len(t.levels) <= level {
		t.levels = append(t.levels, make([]childRef, 0, t.maxChildren))
	}
	t.levels[level] = append(t.levels[level], ref)
	if len(t.levels[level]) == t.maxChildren {
		return t.wrap(level)
	}
	return nil
}

// wrap turns a level's pending references (plus their parities) into one intermediate
// chunk referenced from the level above.
func (t *TreeWriter) wrap(level int) error {
	refs := t.levels[level]
	t.levels[level] = refs[:0]
	parities := t.level.Parities(len(refs))
	var span uint64
	// The intermediate chunk is built in place after its span; emit's Data is only valid
	// during the callback, and shard copies it before the level above can reuse inter.
	payload := t.inter[SpanSize:SpanSize]
	for _, r := range refs {
		span += r.span
		payload = append(payload, r.addr[:]...)
	}
	if parities > 0 {
		shards := make([][]byte, len(refs), len(refs)+parities)
		for i, r := range refs {
			shards[i] = r.data
		}
		for range parities {
			p := t.buffer()
			clear(p)
			shards = append(shards, p)
		}
		enc, err := erasureEncoder(len(refs), parities)
		if err != nil {
			return fmt.Errorf("erasure coding %d shards: %w", len(refs), err)
		}
		if err := enc.Encode(shards); err != nil {
			return fmt.Errorf("erasure coding %d shards: %w", len(refs), err)
		}
		for _, p := range shards[len(refs):] {
			addr := t.hasher.Address([SpanSize]byte(p[:SpanSize]), p[SpanSize:])
			if err := t.emit(Chunk{Address: addr, Data: p, Kind: KindParity}); err != nil {
				return err
			}
			payload = append(payload, addr[:]...)
		}
		t.spare = append(t.spare, shards...) // the group is coded; its shards are free
	}
	spanBytes := Span(span)
	if parities > 0 {
		spanBytes[SpanSize-1] = uint8(t.level) | 1<<7 // Bee encodes the level in the span's top byte
	}
	copy(t.inter[:SpanSize], spanBytes[:])
	data := t.inter[:SpanSize+len(payload)]
	addr := t.hasher.Address(spanBytes, payload)
	if err := t.emit(Chunk{Address: addr, Data: data, Kind: KindIntermediate}); err != nil {
		return err
	}
	return t.push(level+1, childRef{addr: addr, span: span, data: t.shard(data)})
}

// encoders caches Reed-Solomon encoders by shape: building one inverts a matrix, which
// costs more than encoding a group. Encoders are safe for concurrent use.
var encoders sync.Map // [2]int{shards, parities} -> reedsolomon.Encoder

func erasureEncoder(shards, parities int) (reedsolomon.Encoder, error) {
	key := [2]int{shards, parities}
	if e, ok := encoders.Load(key); ok {
		return e.(reedsolomon.Encoder), nil
	}
	e, err := reedsolomon.New(shards, parities)
	if err != nil {
		return nil, err
	}
	encoders.Store(key, e)
	return e, nil
}

// Sum finishes the tree and returns the root reference. It may be called once.
func (t *TreeWriter) Sum() ([HashSize]byte, error) {
	if t.err != nil {
		return [HashSize]byte{}, t.err
	}
	if t.done {
		return [HashSize]byte{}, errWriteAfterSum
	}
	t.done = true
	defer t.releaseBuffers()
	if t.fill > 0 || t.leaves == 0 {
		if err := t.flushLeaf(); err != nil {
			return [HashSize]byte{}, err
		}
	}
	for level := 0; ; level++ {
		refs := t.levels[level]
		top := level == len(t.levels)-1
		switch {
		case top && len(refs) == 1:
			root := refs[0].addr
			for _, r := range ReplicaAddresses(root, t.level) {
				if err := t.emit(Chunk{Address: r, Kind: KindReplica}); err != nil {
					return [HashSize]byte{}, err
				}
			}
			return root, nil
		case len(refs) == 1: // carried up as it is, like Bee's hashtrie
			t.levels[level] = refs[:0]
			if err := t.push(level+1, refs[0]); err != nil {
				return [HashSize]byte{}, err
			}
		case len(refs) > 1:
			if err := t.wrap(level); err != nil {
				return [HashSize]byte{}, err
			}
		}
	}
}
