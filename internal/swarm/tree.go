package swarm

import (
	"encoding/binary"
	"errors"
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
// callback and is nil for parity and replica chunks, whose contents are not computed.
type Chunk struct {
	Address [HashSize]byte
	Data    []byte
	Kind    ChunkKind
}

type childRef struct {
	addr [HashSize]byte
	span uint64
}

// TreeWriter builds Swarm's chunk tree of a byte stream as Bee's /bytes pipeline does
// (pkg/file/pipeline/hashtrie): 4096-byte data chunks, intermediate chunks of up to 128
// references (fewer at a redundancy level, the rest being parities) whose span is the
// number of content bytes under them, and a lone reference at the end of a level carried
// up unwrapped. It streams: memory is one chunk per tree level, whatever the size.
//
// At LevelNone the root equals real Bee's reference. At higher levels the count of chunks,
// and so the stamping, is Bee's, but parity chunk contents are not computed (they are
// stand-in addresses), so references of multi-chunk uploads differ from Bee's.
type TreeWriter struct {
	level       Level
	maxChildren int
	emit        func(Chunk) error
	hasher      *Hasher
	leaf        [ChunkWithSpanSize]byte
	fill        int // payload bytes in leaf
	levels      [][]childRef
	size        uint64
	leaves      int
	err         error
	done        bool
}

// NewTreeWriter returns a writer that calls emit for every chunk it produces (emit may be
// nil) and returns the root reference from Sum.
func NewTreeWriter(level Level, emit func(Chunk) error) *TreeWriter {
	if emit == nil {
		emit = func(Chunk) error { return nil }
	}
	maxChildren := Branches
	if level != LevelNone {
		maxChildren = level.MaxShards()
	}
	return &TreeWriter{level: level, maxChildren: maxChildren, emit: emit, hasher: NewHasher()}
}

var errWriteAfterSum = errors.New("swarm: write after Sum")

// Write adds content. An error from emit stops the writer and is returned from then on.
func (t *TreeWriter) Write(p []byte) (int, error) {
	if t.done {
		return 0, errWriteAfterSum
	}
	written := 0
	for len(p) > 0 && t.err == nil {
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

// Size is the number of content bytes written so far.
func (t *TreeWriter) Size() uint64 { return t.size + uint64(t.fill) }

func (t *TreeWriter) flushLeaf() error {
	span := uint64(t.fill)
	binary.LittleEndian.PutUint64(t.leaf[:SpanSize], span)
	data := t.leaf[:SpanSize+t.fill]
	addr := t.hasher.Address([SpanSize]byte(data[:SpanSize]), data[SpanSize:])
	t.size += span
	t.fill = 0
	t.leaves++
	if err := t.emit(Chunk{Address: addr, Data: data, Kind: KindData}); err != nil {
		return err
	}
	return t.push(0, childRef{addr, span})
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
	payload := make([]byte, 0, (len(refs)+parities)*HashSize)
	for _, r := range refs {
		span += r.span
		payload = append(payload, r.addr[:]...)
	}
	for i := 0; i < parities; i++ {
		// Stand-in parity chunk: Bee Reed-Solomon-encodes the siblings; its count, not its
		// content, is what stamping depends on.
		p := Keccak256([]byte("parity"), payload[:len(refs)*HashSize], []byte{byte(i)})
		if err := t.emit(Chunk{Address: p, Kind: KindParity}); err != nil {
			return err
		}
		payload = append(payload, p[:]...)
	}
	spanBytes := Span(span)
	if parities > 0 {
		spanBytes[SpanSize-1] = uint8(t.level) | 1<<7 // Bee encodes the level in the span's top byte
	}
	data := append(spanBytes[:], payload...)
	addr := t.hasher.Address(spanBytes, payload)
	if err := t.emit(Chunk{Address: addr, Data: data, Kind: KindIntermediate}); err != nil {
		return err
	}
	return t.push(level+1, childRef{addr, span})
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
			for i := 0; i < t.level.ReplicaCount(); i++ {
				r := Keccak256([]byte("replica"), root[:], []byte{byte(i)})
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
