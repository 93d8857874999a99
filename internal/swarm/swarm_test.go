package swarm

import (
	"bytes"
	"encoding/hex"
	"sort"
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
		if (testing.Short() || raceEnabled) && v.size > 1<<20 {
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

// References at every redundancy level as Bee v2.8.1 computes them for an upload: generated by
// running Bee v2.8.1's own pkg/file/pipeline/builder (NewPipelineBuilder at the level, fed by
// builder.FeedPipeline as its API feeds request bodies) over data byte i = i%255. Above level
// 0 these include the Reed-Solomon parity references, so they pin parity contents too.
func TestTreeWriterBeeRedundancyVectors(t *testing.T) {
	vectors := []struct {
		level Level
		size  int
		want  string
	}{
		{LevelNone, 11, "0dbd20be40de79ea010255ba7b4c71f3db4d806df216e97085e21188650a3b7f"},
		{LevelNone, 4096, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
		{LevelNone, 4097, "df49978d2da34a98ca14fdf5393a71bb4930357ef05adb2541d35fb1345106e4"},
		{LevelNone, 8192, "29a5fb121ce96194ba8b7b823a1f9c6af87e1791f824940a53b5a7efe3f790d9"},
		{LevelNone, 487425, "8cd6912970d78d3fcd1c44c26a9dce760530aee248399b6bc9f8a9013c675be8"},
		{LevelNone, 532480, "59de730bf6c67a941f3b2ffa2f920acfaa1713695ad5deea12b4a121e5f23fa1"},
		{LevelNone, 62914565, "ea8e313b2941f19e9ca5ed1e20bde8e0ee5ca7bc7922ff781bc454acfcfaf1a0"},
		{LevelMedium, 11, "0dbd20be40de79ea010255ba7b4c71f3db4d806df216e97085e21188650a3b7f"},
		{LevelMedium, 4096, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
		{LevelMedium, 4097, "3f40cb428b07c4fc0d23a7489912204a5197d9d2c48ccc4b9a5b96d23ac079af"},
		{LevelMedium, 8192, "b39de629ad8fe147b36e3d3bc07f614fdda2d74fed306971cab96dc1d9a02ea5"},
		{LevelMedium, 487425, "5d8f0a47cc1da81b638a7c1bd40f4aa9db1b56a9b57c9c94affd2f562d0d883c"},
		{LevelMedium, 532480, "5f41291918df9dc0384d55ab3ee853c2af062ad09395b75f840718fdf2337ff5"},
		{LevelMedium, 62914565, "ddf41d6b4da88d25d955a6f97c676faf529e88deabbca18b63bdff26a3b1e7b0"},
		{LevelStrong, 11, "0dbd20be40de79ea010255ba7b4c71f3db4d806df216e97085e21188650a3b7f"},
		{LevelStrong, 4096, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
		{LevelStrong, 4097, "a37219d245509bf26ef06b3e2d89fcd94048d6f7a9ee14cebacb0cf2b4c4afe2"},
		{LevelStrong, 8192, "097da84ffa6f878a0e23e5221137503d8b9f7b84f976550e87281548635da85d"},
		{LevelStrong, 487425, "5e2124cf1db3dd3068eb9991f36bdb15d87af16cdea68719832de0d636de2196"},
		{LevelStrong, 532480, "505d709e4f940bd58304480eddad117bea8bc98d5d52e221df188d9b88a72b47"},
		{LevelStrong, 62914565, "2842bea62b862b262bb39a10fe743e2f6df78efc56b001fa03e599edede8fb02"},
		{LevelInsane, 11, "0dbd20be40de79ea010255ba7b4c71f3db4d806df216e97085e21188650a3b7f"},
		{LevelInsane, 4096, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
		{LevelInsane, 4097, "9d99d7eaeaf33dc8fdbdc56f96e22245872236c1fa5bfe3303beff7265c4a1c1"},
		{LevelInsane, 8192, "a3746dfaae539f9c7bb13baf7fd87ec87c0a4d59546b52aae8753de64a2edb22"},
		{LevelInsane, 487425, "6b73dd29ca8d7e917f66084f437d1d66d476a93d1d735976d0cce874b7944937"},
		{LevelInsane, 532480, "5828dc8845e878a21b1f354f15e4b33ef9eef176556b91114f98c9ce70cea29f"},
		{LevelInsane, 62914565, "0f965a24386d33595e44298bd3b8dc826bbb094d3cc435a62367e2278ccd90bc"},
		{LevelParanoid, 11, "0dbd20be40de79ea010255ba7b4c71f3db4d806df216e97085e21188650a3b7f"},
		{LevelParanoid, 4096, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
		{LevelParanoid, 4097, "6cac21526320632a9e06c175be43b8d02348c4c070328b9f338c2c083bc70c74"},
		{LevelParanoid, 8192, "913e23835648c427292e4f7faa249c58c088c7a0958fcccc8cc8682b98dd4161"},
		{LevelParanoid, 487425, "5200d5d72004f3f6c32dc25c856476f6dd0b93fc22ad236a1e2e30bf083f1c2b"},
		{LevelParanoid, 532480, "508105a8809cdbe923d5276fd1b763338c32f928c3127030927f244cd5b8dc7b"},
		{LevelParanoid, 62914565, "f671e7394d3e81c5efabd51df1448c55deab86fa04df7beaa7663264d7e90242"},
	}
	data := make([]byte, 4096*128*120+5)
	for i := range data {
		data[i] = byte(i % 255)
	}
	for _, v := range vectors {
		if (testing.Short() || raceEnabled) && v.size > 1<<20 {
			continue
		}
		w := NewTreeWriter(v.level, nil)
		for rest := data[:v.size]; len(rest) > 0; { // odd write sizes: the tree must not depend on them
			n := min(len(rest), 3000)
			_, err := w.Write(rest[:n])
			require.NoError(t, err)
			rest = rest[n:]
		}
		root, err := w.Sum()
		require.NoError(t, err)
		require.Equal(t, v.want, hex.EncodeToString(root[:]), "level %d size %d", v.level, v.size)
	}
}

// Every chunk an upload stores (data, intermediate, parity, root replicas), as the chunk store
// behind Bee v2.8.1's pkg/file/pipeline/builder holds it after builder.FeedPipeline over data
// byte i = i%255 (generated by running Bee's code): the simulator stamps exactly these, so
// batches fill bucket by bucket as on Bee.
func TestTreeWriterStoresBeeChunkSet(t *testing.T) {
	for _, c := range []struct {
		level Level
		size  int
		want  []string
	}{
		{LevelMedium, 11, []string{
			"0dbd20be40de79ea010255ba7b4c71f3db4d806df216e97085e21188650a3b7f",
			"557596d45fe8cfaa533700dcb365dd95a2e12df48a9a08e0dcca476120df1a33",
			"e54c3654aa6b6db67f0552d1691e459089bb4da6f803c33f0a5290c5fcf31818",
		}},
		{LevelMedium, 12293, []string{
			"037ddccd85681bcb68f388c612304afc396b4e56e53ef436a81f74ede8646eb4",
			"33aeee5dadb4a097a2384d7868ac53ff394fe1560c82bf9a6cf04997b3c1af30",
			"675fca377b7e292c8da36785b237eaeeda37c677cffd1dfe697421435476870c",
			"a644a5fae7e287aef0cc76dec31f3b0c83f517f70f47b3f290c2b7ed059b31b9",
			"c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef",
			"c2cbc15673e9b782c4b9687071a86ca1dcbb55a9aecadecf454cd077fb1e9b0e",
			"c6b8aa3d7d8454d3e40432e845edd61e87577ab876759584f8be39d805754275",
			"cd491ecc4ccf1a9f3230d22f46aa1bef7a4913677e63e695509e34ecf8e9a720",
			"d174a8df3193190a08a2a05020eb9373b609a20c4d388204c4baf1a38649c0ac",
			"d3db46dc22474212de59aedc3a6ac71faeffe0ab9fe0dfd7d425c501a0c4e929",
		}},
		{LevelParanoid, 11, []string{
			"0a2a72554b8482beef75d7216a2369c26f419d88304e7834cec6d17df930b893",
			"0dbd20be40de79ea010255ba7b4c71f3db4d806df216e97085e21188650a3b7f",
			"1b882fa36393c7c2ca7d8d3c6e3859197c40b6b67303d4cb5a97d41288e003ac",
			"22a7703517f64d39d626fb94d3c2d41a43bafe19e85d36fd245bdd96ae87db7b",
			"3674b63d8eeca1c1904c6a471da7c76af1ac028ac40d66f5d002bbb55e2051f9",
			"44dbde03aaee6ce30417df4fbec60e3a345a37ab208264fd53106379f68bab81",
			"557596d45fe8cfaa533700dcb365dd95a2e12df48a9a08e0dcca476120df1a33",
			"68842d525ae66fc4f767926728da1dfcf94b9ceab2a61d757112f85231452c2f",
			"7313c81c7028abba270d41c8a29ea2a6fc46c4fd51c582e431b93e47eb9dd5d6",
			"8a9fc0fce5cc24f3efea24efa45809382b68de4349bb613469133d7bbe71bdf8",
			"996acd2bbdc3c90afe65a4d92282eb2b5cadf7913de21816dc743b1f785e223c",
			"a80510ac9d1e7dc7c2764bc0e8447a8b4fcd2a9b1e99e991f605786df07bdf0e",
			"b5800ea1f94960dc33439d1803c250314f8f0110cf21cab59b63d36d8734261f",
			"c9404f5ee90e779d54b7740c56ad4b9f0d631bc412be3b30a9f6a78b5974d4b1",
			"d936281cd266c0d1d7af50803bc896913a948f5501bc44a8640833e4f0b5af9f",
			"e54c3654aa6b6db67f0552d1691e459089bb4da6f803c33f0a5290c5fcf31818",
			"f6e1f6ed986ed549ab958c58e7cb25ed7c317d9123cc6bd0fdfa2a41c9d05a7a",
		}},
	} {
		data := make([]byte, c.size)
		for i := range data {
			data[i] = byte(i % 255)
		}
		var got []string
		w := NewTreeWriter(c.level, func(ch Chunk) error {
			got = append(got, hex.EncodeToString(ch.Address[:]))
			return nil
		})
		_, _ = w.Write(data)
		_, err := w.Sum()
		require.NoError(t, err)
		sort.Strings(got)
		require.Equal(t, c.want, got, "level %d size %d", c.level, c.size)
	}
}
