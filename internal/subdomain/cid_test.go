package subdomain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Vectors from Bee's own resolver tests (ethersphere/bee v2.8.1, pkg/resolver/cidv1/cidv1_test.go).
const (
	beeManifestCID = "bah5acgzazjrvpieogf6rl3cwb7xtjzgel6hrt4a4g4vkody5u4v7u7y2im4a"
	beeFeedCID     = "bah5qcgzazjrvpieogf6rl3cwb7xtjzgel6hrt4a4g4vkody5u4v7u7y2im4a"
	beeRef         = "ca6357a08e317d15ec560fef34e4c45f8f19f01c372aa70f1da72bfa7f1a4338"
)

func TestParseCIDBeeVectors(t *testing.T) {
	ref, codec, err := ParseCID(beeManifestCID)
	require.NoError(t, err)
	require.Equal(t, beeRef, ref)
	require.Equal(t, CodecManifest, codec)

	ref, codec, err = ParseCID(beeFeedCID)
	require.NoError(t, err)
	require.Equal(t, beeRef, ref)
	require.Equal(t, CodecFeed, codec)

	// Hosts arrive in any case.
	ref, _, err = ParseCID(strings.ToUpper(beeManifestCID))
	require.NoError(t, err)
	require.Equal(t, beeRef, ref)
}

func TestCIDRoundTrip(t *testing.T) {
	got, err := CID(beeRef)
	require.NoError(t, err)
	require.Equal(t, beeManifestCID, got, "reference -> CID gives Bee's own vector")
	for _, ref := range []string{strings.Repeat("00", 32), strings.Repeat("ff", 32), beeRef} {
		c, err := CID(ref)
		require.NoError(t, err)
		require.LessOrEqual(t, len(c), 63, "a CID must fit in one DNS label")
		back, codec, err := ParseCID(c)
		require.NoError(t, err)
		require.Equal(t, ref, back)
		require.Equal(t, CodecManifest, codec)
	}
}

func TestParseCIDRefusesWhatIsNotASwarmCID(t *testing.T) {
	for _, label := range []string{
		"bafybeiekkklkqtypmqav6ytqjbdqucxfwuk5cgige4245d2qhkccuyfnly", // an IPFS dag-pb CID (Bee's test)
		"bafybeiekk", // truncated (Bee's test)
		"",
		"www",
		beeRef, // hex is no CID
		"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", // CIDv0
	} {
		_, _, err := ParseCID(label)
		require.ErrorIs(t, err, ErrNotSwarmCID, "label %q", label)
	}
}

func TestCIDRefusesBadReferences(t *testing.T) {
	for _, ref := range []string{"", "abcd", strings.Repeat("zz", 32), strings.Repeat("ab", 64)} {
		_, err := CID(ref)
		require.Error(t, err, "ref %q", ref)
	}
}
