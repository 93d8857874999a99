package swarm

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/klauspost/reedsolomon"
	"github.com/stretchr/testify/require"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func withSpan(payload []byte) []byte {
	s := Span(uint64(len(payload)))
	return append(s[:], payload...)
}

// Vectors from Bee v2.8.1 pkg/cac/cac_test.go (TestNew, TestNewWithDataSpan, TestValid).
func TestChunkAddressBeeVectors(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte // span + payload
		want string
	}{
		{"cac.New greaterthanspan", withSpan([]byte("greaterthanspan")), "27913f1bdb6e8e52cbd5a5fd4ab577c857287edf6969b41efe926b51de0f4f23"},
		{"NewWithDataSpan greaterthanspan", []byte("greaterthanspan"), "95022e6af5c6d6a564ee55a67f8455a3e18c511b5697c932d9e44f07f2fb8c53"},
		{"foo", withSpan([]byte("foo")), "2387e8e7d8a48c2a9339c97c1dc3461a9a7aa07e994c5cb8b38fd7c1b3e6ea48"},
	} {
		got, ok := ChunkAddress(c.data)
		require.True(t, ok, c.name)
		require.Equal(t, c.want, hex.EncodeToString(got[:]), c.name)
	}
	_, ok := ChunkAddress(make([]byte, 7))
	require.False(t, ok, "shorter than a span")
	_, ok = ChunkAddress(make([]byte, ChunkWithSpanSize+1))
	require.False(t, ok, "over 4104 bytes")
}

// The BMT with zero-subtree shortcuts equals the plain definition: payload padded to 4096
// bytes, 128 segments hashed pairwise.
func TestBMTMatchesPlainDefinition(t *testing.T) {
	plain := func(payload []byte) [HashSize]byte {
		level := make([]byte, ChunkSize)
		copy(level, payload)
		for len(level) > HashSize {
			next := make([]byte, 0, len(level)/2)
			for i := 0; i < len(level); i += 2 * HashSize {
				h := Keccak256(level[i : i+2*HashSize])
				next = append(next, h[:]...)
			}
			level = next
		}
		return [HashSize]byte(level)
	}
	h := NewHasher()
	for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 65, 100, 2048, 2049, 4095, 4096} {
		p := bytes.Repeat([]byte{0xa5}, n)
		require.Equal(t, plain(p), h.root(p), "payload %d bytes", n)
	}
}

// Bee's file vectors (pkg/file/testing/vector.go, used by pkg/file/pipeline/builder
// TestAllVectors at redundancy level 0): data byte i is i%255.
func TestTreeWriterBeeFileVectors(t *testing.T) {
	vectors := []struct {
		size int
		want string
	}{
		{31, "ece86edb20669cc60d142789d464d57bdf5e33cb789d443f608cbd81cfa5697d"},
		{32, "0be77f0bb7abc9cd0abed640ee29849a3072ccfd1020019fe03658c38f087e02"},
		{33, "3463b46d4f9d5bfcbf9a23224d635e51896c1daef7d225b86679db17c5fd868e"},
		{63, "95510c2ff18276ed94be2160aed4e69c9116573b6f69faaeed1b426fea6a3db8"},
		{64, "490072cc55b8ad381335ff882ac51303cc069cbcb8d8d3f7aa152d9c617829fe"},
		{65, "541552bae05e9a63a6cb561f69edf36ffe073e441667dbf7a0e9a3864bb744ea"},
		{4096, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
		{4096 + 31, "91699c83ed93a1f87e326a29ccd8cc775323f9e7260035a5f014c975c5f3cd28"},
		{4096 + 32, "73759673a52c1f1707cbb61337645f4fcbd209cdc53d7e2cedaaa9f44df61285"},
		{4096 + 63, "db1313a727ffc184ae52a70012fbbf7235f551b9f2d2da04bf476abe42a3cb42"},
		{4096 + 64, "ade7af36ac0c7297dc1c11fd7b46981b629c6077bce75300f85b02a6153f161b"},
		{4096 * 2, "29a5fb121ce96194ba8b7b823a1f9c6af87e1791f824940a53b5a7efe3f790d9"},
		{4096*2 + 32, "61416726988f77b874435bdd89a419edc3861111884fd60e8adf54e2f299efd6"},
		{4096 * 128, "3047d841077898c26bbe6be652a2ec590a5d9bd7cd45d290ea42511b48753c09"},
		{4096*128 + 31, "e5c76afa931e33ac94bce2e754b1bb6407d07f738f67856783d93934ca8fc576"},
		{4096*128 + 32, "485a526fc74c8a344c43a4545a5987d17af9ab401c0ef1ef63aefcc5c2c086df"},
		{4096*128 + 64, "624b2abb7aefc0978f891b2a56b665513480e5dc195b4a66cd8def074a6d2e94"},
		{4096 * 129, "b8e1804e37a064d28d161ab5f256cc482b1423d5cd0a6b30fde7b0f51ece9199"},
		{4096 * 130, "59de730bf6c67a941f3b2ffa2f920acfaa1713695ad5deea12b4a121e5f23fa1"},
		{4096 * 128 * 128, "522194562123473dcfd7a457b18ee7dee8b7db70ed3cfa2b73f348a992fdfd3b"},
		{4096*128*128 + 32, "ed0cc44c93b14fef2d91ab3a3674eeb6352a42ac2f0bbe524711824aae1e7bcc"},
	}
	data := make([]byte, 4096*128*128+32)
	for i := range data {
		data[i] = byte(i % 255)
	}
	for _, v := range vectors {
		if testing.Short() && v.size > 1<<20 {
			continue
		}
		chunks := int64(0)
		w := NewTreeWriter(LevelNone, func(Chunk) error { chunks++; return nil })
		// Odd write sizes: the tree must not depend on how the stream is cut.
		for rest := data[:v.size]; len(rest) > 0; {
			n := min(len(rest), 1000)
			_, err := w.Write(rest[:n])
			require.NoError(t, err)
			rest = rest[n:]
		}
		root, err := w.Sum()
		require.NoError(t, err)
		require.Equal(t, v.want, hex.EncodeToString(root[:]), "size %d", v.size)
		require.Equal(t, ChunkCount(int64(v.size), LevelNone), chunks, "chunk count of size %d", v.size)
	}
}

// Bee v2.8.1 pkg/file/pipeline/builder/builder_test.go TestHelloWorld, TestPartialWrites and TestEmpty.
func TestTreeWriterBeeBuilderVectors(t *testing.T) {
	sum := func(parts ...string) string {
		w := NewTreeWriter(LevelNone, nil)
		for _, p := range parts {
			_, _ = w.Write([]byte(p))
		}
		root, err := w.Sum()
		require.NoError(t, err)
		return hex.EncodeToString(root[:])
	}
	require.Equal(t, "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f", sum("hello world"))
	require.Equal(t, "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f", sum("hello ", "world"))
	require.Equal(t, "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526", sum())
}

// Redundancy: the chunks the writer emits are what ChunkCount predicts, for Bee's parity
// tables; a single chunk keeps its level-0 reference (no parities, only root replicas).
func TestTreeWriterRedundancyCounts(t *testing.T) {
	require.Equal(t, 119, LevelMedium.MaxShards())
	require.Equal(t, 9, LevelMedium.Parities(119))
	require.Equal(t, 2, LevelMedium.Parities(1))
	require.Equal(t, 0, LevelNone.Parities(128))
	for _, level := range []Level{LevelNone, LevelMedium, LevelStrong, LevelInsane, LevelParanoid} {
		for _, size := range []int{0, 1, 4096, 4097, 4096 * 37, 4096 * 119, 4096*119 + 1, 4096 * 128, 4096 * 300} {
			kinds := map[ChunkKind]int64{}
			w := NewTreeWriter(level, func(c Chunk) error { kinds[c.Kind]++; return nil })
			_, err := w.Write(make([]byte, size))
			require.NoError(t, err)
			_, err = w.Sum()
			require.NoError(t, err)
			total := kinds[KindData] + kinds[KindIntermediate] + kinds[KindParity] + kinds[KindReplica]
			require.Equal(t, ChunkCount(int64(size), level), total, "level %d size %d", level, size)
			require.EqualValues(t, level.ReplicaCount(), kinds[KindReplica])
		}
	}
	// 2 data chunks at MEDIUM: 2 data + 1 intermediate + 3 parities + 2 replicas.
	require.EqualValues(t, 8, ChunkCount(4097, LevelMedium))
	require.EqualValues(t, 3, ChunkCount(4097, LevelNone))

	one := func(level Level) [HashSize]byte {
		w := NewTreeWriter(level, nil)
		_, _ = w.Write([]byte("hello world"))
		r, _ := w.Sum()
		return r
	}
	require.Equal(t, one(LevelNone), one(LevelMedium))
}

// Vectors from Bee v2.8.1 pkg/soc/soc_test.go (TestFromChunk, TestRecoverAddress): id 0,
// wrapped chunk "foo", owner 8d3766440f0d7b949a5e32995d09619a7f86e632.
func TestSOCBeeVectors(t *testing.T) {
	sig := mustHex(t, "5acd384febc133b7b245e5ddc62d82d2cded9182d2716126cd8844509af65a053deb418208027f548e3e88343af6f84a8772fb3cebc0a1833a0ea7ec0c1348311b")
	owner := [AddressSize]byte(mustHex(t, "8d3766440f0d7b949a5e32995d09619a7f86e632"))
	var id [HashSize]byte
	wrapped := withSpan([]byte("foo"))
	wrappedAddr, _ := ChunkAddress(wrapped)

	got, err := RecoverSOCOwner(sig, id, wrappedAddr)
	require.NoError(t, err)
	require.Equal(t, owner, got)
	require.Equal(t, "9d453ebb73b2fedaaf44ceddcf7a0aa37f3e3d6453fea5841c31f0ea6d61dc85", hex.EncodeToString(func() []byte { a := SOCAddress(id, owner); return a[:] }()))

	soc, err := ParseSOC(append(append(id[:], sig...), wrapped...))
	require.NoError(t, err)
	require.Equal(t, owner, soc.Owner)
	require.Equal(t, SOCAddress(id, owner), soc.Address)

	// A signature over another chunk recovers another owner.
	other, _ := ChunkAddress(withSpan([]byte("bar")))
	got, err = RecoverSOCOwner(sig, id, other)
	if err == nil {
		require.NotEqual(t, owner, got)
	}
	_, err = RecoverSOCOwner(sig[:64], id, wrappedAddr)
	require.ErrorIs(t, err, ErrBadSignature)
	_, err = RecoverSOCOwner(make([]byte, 65), id, wrappedAddr)
	require.ErrorIs(t, err, ErrBadSignature)
}

// A SOC signed here verifies as Bee's does, and its owner is the key's Ethereum address.
// Key and address are the well-known Hardhat account #0.
func TestSignSOCRoundTrip(t *testing.T) {
	key := secp256k1.PrivKeyFromBytes(mustHex(t, "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"))
	require.Equal(t, "f39fd6e51aad88f6f4ce6ab8827279cfffb92266", hex.EncodeToString(func() []byte { a := EthereumAddress(key.PubKey()); return a[:] }()))
	id := FeedUpdateID([HashSize]byte{1}, 3)
	addr, _ := ChunkAddress(withSpan([]byte("payload")))
	sig, owner := SignSOC(key, id, addr)
	require.Len(t, sig, SignatureSize)
	require.Contains(t, []byte{27, 28}, sig[64])
	got, err := RecoverSOCOwner(sig, id, addr)
	require.NoError(t, err)
	require.Equal(t, owner, got)
}

// Feed update ids: keccak256(topic || index as 8 bytes big-endian), as Bee's
// pkg/feeds/sequence index marshals it.
func TestFeedUpdateID(t *testing.T) {
	topic := [HashSize]byte(mustHex(t, "7e15a90abbff6ee821a98dfd278e2967c16a1f8d3fa62534bce0c231169befce"))
	idx := mustHex(t, "0000000000000102")
	require.Equal(t, Keccak256(topic[:], idx), FeedUpdateID(topic, 258))
	require.NotEqual(t, FeedUpdateID(topic, 0), FeedUpdateID(topic, 1))
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"0": LevelNone, "1": LevelMedium, "4": LevelParanoid, "medium": LevelMedium} {
		got, err := ParseLevel(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"5", "-1", "x", ""} {
		_, err := ParseLevel(bad)
		require.Error(t, err, bad)
	}
}

func BenchmarkTreeWriter(b *testing.B) {
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := NewTreeWriter(LevelNone, nil)
		_, _ = w.Write(data)
		_, _ = w.Sum()
	}
}

// Bee v2.8.1 pkg/file/pipeline/hashtrie TestRedundancy: 98 full chunks at INSANE make 97
// references in one chunk plus a carrier, 37 parities (31 + 6) and 2 intermediate chunks.
func TestTreeWriterRedundancyBeeCounts(t *testing.T) {
	kinds := map[ChunkKind]int{}
	w := NewTreeWriter(LevelInsane, func(c Chunk) error { kinds[c.Kind]++; return nil })
	_, err := w.Write(make([]byte, 98*ChunkSize))
	require.NoError(t, err)
	_, err = w.Sum()
	require.NoError(t, err)
	require.Equal(t, 37, kinds[KindParity])
	require.Equal(t, 2, kinds[KindIntermediate])
	require.Equal(t, 8, kinds[KindReplica])
}

// Parity chunks are real Reed-Solomon parities of their siblings' padded chunk data: any lost
// data shard is rebuilt from the rest.
func TestTreeWriterParitiesRecoverData(t *testing.T) {
	data := make([]byte, 5*ChunkSize+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var shards [][]byte
	var root []byte
	w := NewTreeWriter(LevelMedium, func(c Chunk) error {
		switch c.Kind {
		case KindData, KindParity:
			s := make([]byte, ChunkWithSpanSize)
			copy(s, c.Data)
			shards = append(shards, s)
		case KindIntermediate:
			root = append([]byte(nil), c.Data...)
		}
		return nil
	})
	_, _ = w.Write(data)
	_, err := w.Sum()
	require.NoError(t, err)
	require.Len(t, shards, 6+LevelMedium.Parities(6))
	require.Equal(t, byte(0x80|byte(LevelMedium)), root[SpanSize-1], "the level rides in the span's top byte")
	require.Len(t, root, SpanSize+(6+4)*HashSize, "6 data then 4 parity references")

	enc, err := reedsolomon.New(6, 4)
	require.NoError(t, err)
	lost := shards[2]
	damaged := append([][]byte(nil), shards...)
	damaged[2], damaged[4] = nil, nil
	require.NoError(t, enc.Reconstruct(damaged))
	require.Equal(t, lost, damaged[2])
}

// Root replicas are SOCs of Bee's fixed replica key (0x01 then zeros), one per
// neighbourhood of the level's first bits (the dispersion Bee's replicas tests check).
func TestReplicaAddressesDispersed(t *testing.T) {
	key := secp256k1.PrivKeyFromBytes(append([]byte{1}, make([]byte, 31)...))
	require.Equal(t, replicasOwner, EthereumAddress(key.PubKey()))
	root := Keccak256([]byte("some root chunk"))
	for _, level := range []Level{LevelMedium, LevelStrong, LevelInsane, LevelParanoid} {
		addrs := ReplicaAddresses(root, level)
		require.Len(t, addrs, level.ReplicaCount())
		seen := map[byte]bool{}
		for _, a := range addrs {
			nh := a[0] >> (8 - uint8(level))
			require.False(t, seen[nh], "level %d: two replicas in one neighbourhood", level)
			seen[nh] = true
		}
	}
	require.Empty(t, ReplicaAddresses(root, LevelNone))
}

func BenchmarkTreeWriterMedium(b *testing.B) {
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := NewTreeWriter(LevelMedium, nil)
		_, _ = w.Write(data)
		_, _ = w.Sum()
	}
}
