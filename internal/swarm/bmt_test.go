package swarm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"math/rand/v2"
	"testing"

	"github.com/cloudflare/circl/simd/keccakf1600"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/sha3"
)

// refHasher is the BMT as it was first written, on x/crypto's hash.Hash Keccak: the
// reference the lane-level hasher must agree with, and the "before" of the benchmarks.
type refHasher struct {
	h     hash.Hash
	level [segments][HashSize]byte
	pad   [ChunkSize]byte
}

func newRefHasher() *refHasher { return &refHasher{h: sha3.NewLegacyKeccak256()} }

func (b *refHasher) keccak(dst []byte, parts ...[]byte) {
	b.h.Reset()
	for _, p := range parts {
		b.h.Write(p)
	}
	b.h.Sum(dst[:0])
}

func (b *refHasher) root(payload []byte) [HashSize]byte {
	var zero [bmtDepth + 1][HashSize]byte
	for d := 1; d < len(zero); d++ {
		b.keccak(zero[d][:], zero[d-1][:], zero[d-1][:])
	}
	if len(payload) > ChunkSize {
		payload = payload[:ChunkSize]
	}
	n := (len(payload) + 2*segmentSize - 1) / (2 * segmentSize)
	for i := 0; i < n; i++ {
		pair := payload[i*2*segmentSize:]
		if len(pair) >= 2*segmentSize {
			b.keccak(b.level[i][:], pair[:2*segmentSize])
		} else {
			copy(b.pad[:], pair)
			clear(b.pad[len(pair) : 2*segmentSize])
			b.keccak(b.level[i][:], b.pad[:2*segmentSize])
		}
	}
	if n == 0 {
		return zero[bmtDepth]
	}
	for d := 1; d < bmtDepth; d++ {
		next := (n + 1) / 2
		for i := 0; i < next; i++ {
			right := zero[d][:]
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

func (b *refHasher) Address(span [SpanSize]byte, payload []byte) [HashSize]byte {
	r := b.root(payload)
	var out [HashSize]byte
	b.keccak(out[:], span[:], r[:])
	return out
}

// refBytesRoot is the level-0 /bytes reference of data built level by level with the
// reference hasher: 4096-byte leaves, 128 references per intermediate chunk, a lone last
// reference of a level carried up unwrapped.
func refBytesRoot(h *refHasher, data []byte) [HashSize]byte {
	type ref struct {
		addr [HashSize]byte
		span uint64
	}
	var level []ref
	for off := 0; off < len(data) || off == 0; off += ChunkSize {
		p := data[off:min(off+ChunkSize, len(data))]
		level = append(level, ref{h.Address(Span(uint64(len(p))), p), uint64(len(p))})
	}
	for len(level) > 1 {
		var next []ref
		for i := 0; i < len(level); i += Branches {
			group := level[i:min(i+Branches, len(level))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			var span uint64
			payload := make([]byte, 0, ChunkSize)
			for _, r := range group {
				span += r.span
				payload = append(payload, r.addr[:]...)
			}
			next = append(next, ref{h.Address(Span(span), payload), span})
		}
		level = next
	}
	return level[0].addr
}

func legacyKeccak(msg []byte) [HashSize]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(msg)
	return [HashSize]byte(h.Sum(nil))
}

func TestKeccakMatchesXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	msg := make([]byte, 3*keccakRate+7)
	for i := range msg {
		msg[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(msg); n++ {
		want := legacyKeccak(msg[:n])
		if n <= oneBlockMax {
			require.Equal(t, want, keccakOneBlock(msg[:n]), "one block, %d bytes", n)
		}
		require.Equal(t, want, keccakSponge(msg[:n]), "sponge, %d bytes", n)
		cut := n / 3
		require.Equal(t, want, Keccak256(msg[:cut], nil, msg[cut:n]), "Keccak256 in parts, %d bytes", n)
	}
}

// Four-way batches of every fill (1..4 and leftovers) agree with one-at-a-time hashing,
// in place as the tree levels hash.
func TestHashNodesBatchesMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	one := newHasher(x4None)
	for _, mode := range fourWayModes(t) {
		x4 := newHasher(mode)
		for n := 1; n <= segments/2; n++ {
			in := make([]uint64, n*nodeLanes)
			for i := range in {
				in[i] = rng.Uint64()
			}
			want := make([]uint64, n*hashLanes)
			one.hashNodes(want, in, n)
			for i := range n {
				b := lanesBytes(want[i*hashLanes:])
				var msg [2 * HashSize]byte
				for j := range nodeLanes {
					binary.LittleEndian.PutUint64(msg[8*j:], in[i*nodeLanes+j])
				}
				require.Equal(t, legacyKeccak(msg[:]), b, "node %d of %d", i, n)
			}
			x4.hashNodes(in, in, n)
			require.Equal(t, want, in[:n*hashLanes], "%d nodes four at a time (mode %d), in place", n, mode)
		}
	}
}

// fourWayModes are the four-way permutations this CPU can run; a test that needs them is
// skipped where there is none (its fallback is then what every other test runs).
func fourWayModes(t testing.TB) []x4Mode {
	var modes []x4Mode
	if keccakf1600.IsEnabledX4() {
		modes = append(modes, x4AVX2)
	}
	if avx512Enabled {
		modes = append(modes, x4AVX512)
	}
	if len(modes) == 0 {
		t.Skip("no four-way Keccak on this CPU")
	}
	return modes
}

// The AVX-512 permutations agree with the one-state permutation on four and eight unrelated
// states. (Where AVX-512 is missing, this checks their one-state stand-ins.)
func TestPermuteAVX512MatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var x4 [100]uint64
	var x8 [200]uint64
	var one [8][25]uint64
	for round := 0; round < 20; round++ {
		for i := range 25 {
			for m := range 8 {
				one[m][i] = rng.Uint64()
				x8[8*i+m] = one[m][i]
				if m < 4 {
					x4[4*i+m] = one[m][i]
				}
			}
		}
		permuteX4AVX512(&x4)
		permuteX8AVX512(&x8)
		for m := range 8 {
			keccakF1600(&one[m])
			for i := range 25 {
				require.Equal(t, one[m][i], x8[8*i+m], "eight-way: state %d lane %d", m, i)
				if m < 4 {
					require.Equal(t, one[m][i], x4[4*i+m], "four-way: state %d lane %d", m, i)
				}
			}
		}
	}
}

// The lane-level hasher, with and without the four-way permutation, gives the reference's
// addresses for every payload length class, random spans, and one hasher reused across
// long and short payloads (stale lanes must not leak into the next chunk).
func TestAddressMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	lengths := []int{0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 2048, 2049, 4095, 4096}
	for range 60 {
		lengths = append(lengths, rng.IntN(ChunkSize+1))
	}
	ref := newRefHasher()
	hashers := map[string]*Hasher{"one-block": newHasher(x4None), "default": NewHasher()}
	if keccakf1600.IsEnabledX4() {
		hashers["avx2"] = newHasher(x4AVX2)
	}
	if avx512Enabled {
		hashers["avx512"] = newHasher(x4AVX512)
	}
	for _, n := range lengths {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		span := Span(rng.Uint64())
		if rng.IntN(2) == 0 {
			span = Span(uint64(n))
		}
		want := ref.Address(span, payload)
		for name, h := range hashers {
			require.Equal(t, ref.root(payload), h.root(payload), "%s root, %d bytes", name, n)
			require.Equal(t, want, h.Address(span, payload), "%s address, %d bytes", name, n)
		}
		data := append(span[:], payload...)
		got, ok := ChunkAddress(data)
		require.True(t, ok)
		require.Equal(t, want, got, "ChunkAddress, %d bytes", n)
	}
}

// TreeWriter agrees with the reference tree whether its input comes whole (full chunks
// hashed four at a time from the caller's bytes), in random pieces (both paths mixed), with
// an emit callback (every full leaf copied out) or without.
func TestTreeWriterMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	sizes := []int{0, 1, ChunkSize, ChunkSize + 1, 4 * ChunkSize, 5*ChunkSize - 1, Branches * ChunkSize, Branches*ChunkSize + 1, 3*Branches*ChunkSize + 5}
	for range 4 {
		sizes = append(sizes, rng.IntN(2<<20))
	}
	for _, n := range sizes {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		want := refBytesRoot(newRefHasher(), data)
		for _, pieces := range []bool{false, true} {
			for _, emit := range []bool{false, true} {
				var emitFn func(Chunk) error
				var emitted []byte
				if emit {
					emitFn = func(c Chunk) error {
						if c.Kind == KindData {
							emitted = append(emitted, c.Data[SpanSize:]...)
							if a, _ := ChunkAddress(c.Data); a != c.Address {
								return fmt.Errorf("chunk data does not hash to its address")
							}
						}
						return nil
					}
				}
				w := NewTreeWriter(LevelNone, emitFn)
				for rest := data; len(rest) > 0; {
					k := len(rest)
					if pieces {
						k = min(k, 1+rng.IntN(6*ChunkSize))
					}
					written, err := w.Write(rest[:k])
					require.NoError(t, err)
					require.Equal(t, k, written)
					rest = rest[k:]
				}
				root, err := w.Sum()
				require.NoError(t, err)
				require.Equal(t, want, root, "%d bytes, in pieces %v, emit %v", n, pieces, emit)
				if emit {
					require.True(t, bytes.Equal(data, emitted), "%d bytes: the data chunks emitted are the content", n)
				}
			}
		}
	}
}

// Four full chunks hashed together give each one's own address, in every mode, on a
// hasher reused across batches and single chunks.
func TestFullAddressesMatchAddress(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	modes := []x4Mode{x4None}
	if keccakf1600.IsEnabledX4() {
		modes = append(modes, x4AVX2)
	}
	if avx512Enabled {
		modes = append(modes, x4AVX512)
	}
	ref := newRefHasher()
	for _, mode := range modes {
		h := newHasher(mode)
		for range 3 {
			block := make([]byte, batchChunks*ChunkSize)
			for i := range block {
				block[i] = byte(rng.Uint32())
			}
			span := Span(rng.Uint64())
			var got [batchChunks][HashSize]byte
			h.fullAddresses(&got, span, block)
			for c := range batchChunks {
				require.Equal(t, ref.Address(span, block[c*ChunkSize:(c+1)*ChunkSize]), got[c], "mode %d chunk %d", mode, c)
			}
			short := block[:rng.IntN(ChunkSize)]
			require.Equal(t, ref.Address(span, short), h.Address(span, short), "mode %d, %d bytes after a batch", mode, len(short))
		}
	}
}

func TestChunkAddressDoesNotAllocate(t *testing.T) {
	data := make([]byte, ChunkWithSpanSize)
	ChunkAddress(data) // fill the pool
	require.Zero(t, testing.AllocsPerRun(100, func() { ChunkAddress(data) }))
}

func benchPayload() []byte {
	rng := rand.New(rand.NewPCG(9, 10))
	p := make([]byte, 1<<20)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// Per 4 KiB chunk address: before (x/crypto hash.Hash), after (lanes, the CPU's best four-way
// permutation), after with circl's AVX2 and with the one-block fallback forced.
func BenchmarkChunkAddress(b *testing.B) {
	payload := benchPayload()[:ChunkSize]
	span := Span(ChunkSize)
	b.Run("before", func(b *testing.B) {
		h := newRefHasher()
		b.SetBytes(ChunkSize)
		b.ReportAllocs()
		for b.Loop() {
			h.Address(span, payload)
		}
	})
	for _, c := range []struct {
		name string
		x4   x4Mode
	}{{"after", bestX4}, {"after-avx2", x4AVX2}, {"after-one-block", x4None}} {
		b.Run(c.name, func(b *testing.B) {
			h := newHasher(c.x4)
			b.SetBytes(ChunkSize)
			b.ReportAllocs()
			for b.Loop() {
				h.Address(span, payload)
			}
		})
	}
}

// Per MiB of /bytes tree verification (level 0, the cache's first try): before is the tree
// built with the reference hasher, after is TreeWriter.
func BenchmarkBytesTree1MiB(b *testing.B) {
	data := benchPayload()
	b.Run("before", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			refBytesRoot(newRefHasher(), data)
		}
	})
	b.Run("after", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			w := NewTreeWriter(LevelNone, nil)
			_, _ = w.Write(data)
			_, _ = w.Sum()
		}
	})
}

func BenchmarkKeccakF1600(b *testing.B) {
	var s [25]uint64
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			keccakF1600(&s)
		}
	})
	b.Run("x-crypto-64B-hash", func(b *testing.B) {
		h := sha3.NewLegacyKeccak256()
		var msg [2 * HashSize]byte
		var out [HashSize]byte
		for b.Loop() {
			h.Reset()
			h.Write(msg[:])
			h.Sum(out[:0])
		}
	})
	b.Run("four-way-avx2", func(b *testing.B) {
		h := newHasher(x4AVX2)
		for b.Loop() {
			h.perm.Permute()
		}
	})
	b.Run("four-way-avx512", func(b *testing.B) {
		var st [100]uint64
		for b.Loop() {
			permuteX4AVX512(&st)
		}
	})
	b.Run("eight-way-avx512", func(b *testing.B) {
		var st [200]uint64
		for b.Loop() {
			permuteX8AVX512(&st)
		}
	})
}

// Four full chunks' addresses one by one against hashed together (what TreeWriter does with
// a long write).
func BenchmarkFourChunks(b *testing.B) {
	block := benchPayload()[:batchChunks*ChunkSize]
	span := Span(ChunkSize)
	h := NewHasher()
	b.Run("one-by-one", func(b *testing.B) {
		b.SetBytes(int64(len(block)))
		for b.Loop() {
			for c := range batchChunks {
				h.Address(span, block[c*ChunkSize:(c+1)*ChunkSize])
			}
		}
	})
	b.Run("together", func(b *testing.B) {
		var dst [batchChunks][HashSize]byte
		b.SetBytes(int64(len(block)))
		for b.Loop() {
			h.fullAddresses(&dst, span, block)
		}
	})
}

// BytesLevel finds the level a tree was built at, from leaves hashed once, for sizes with
// one chunk, a partial last chunk, and more chunks than one intermediate chunk holds at
// every level; changed bytes or another reference are not found.
func TestBytesLevelFindsTheUploadLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{0, 100, ChunkSize, ChunkSize + 1, 17*ChunkSize - 3, 130 * ChunkSize} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for l := LevelNone; l <= LevelParanoid; l++ {
			if raceEnabled && n > 20*ChunkSize && l > LevelMedium {
				continue
			}
			w := NewTreeWriter(l, nil)
			_, err := w.Write(data)
			require.NoError(t, err)
			ref, err := w.Sum()
			require.NoError(t, err)
			got, ok := BytesLevel(data, ref)
			require.True(t, ok, "%d bytes at level %d", n, l)
			if n <= ChunkSize {
				require.Equal(t, LevelNone, got, "one chunk is the same at every level")
			} else {
				require.Equal(t, l, got, "%d bytes", n)
			}
			if n > 0 {
				changed := bytes.Clone(data)
				changed[rng.IntN(n)] ^= 1
				_, ok = BytesLevel(changed, ref)
				require.False(t, ok, "%d changed bytes at level %d", n, l)
			}
			ref[0] ^= 1
			_, ok = BytesLevel(data, ref)
			require.False(t, ok, "%d bytes, another reference", n)
		}
	}
}
