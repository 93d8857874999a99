// Package subdomain maps the hosts of a subdomain gateway to Swarm content, so that every Swarm
// site gets an origin of its own: `<cid>.<base>` is the site whose manifest reference the CID
// names, and with ENS on, `<name>.<base>` is the site of `<name>.eth`.
package subdomain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"
)

// Multicodecs of Swarm CIDs, as Bee's resolver (pkg/resolver/cidv1) reads them.
const (
	CodecManifest uint64 = 0xfa // swarm-manifest
	CodecFeed     uint64 = 0xfb // swarm-feed: a feed manifest, content changes with the feed
)

// refLen is a Swarm reference's length in bytes; a CID's keccak-256 multihash holds exactly one
// (an encrypted 64-byte reference cannot be written as a CID).
const refLen = 32

// ErrNotSwarmCID is returned for a label that is no CIDv1 of a Swarm manifest or feed.
var ErrNotSwarmCID = errors.New("not a Swarm CID")

// CID returns the base32 CIDv1 (codec swarm-manifest, keccak-256 multihash) of a 64-hex
// reference: the label under which the reference's site is served.
func CID(refHex string) (string, error) {
	return cidOf(refHex, CodecManifest)
}

func cidOf(refHex string, codec uint64) (string, error) {
	ref, err := hex.DecodeString(refHex)
	if err != nil || len(ref) != refLen {
		return "", fmt.Errorf("reference %q: want %d hex characters (an encrypted reference cannot be a CID)", refHex, 2*refLen)
	}
	mh, err := multihash.Encode(ref, multihash.KECCAK_256)
	if err != nil {
		return "", fmt.Errorf("multihash of reference %s: %w", refHex, err)
	}
	return cid.NewCidV1(codec, mh).Encode(multibase.MustNewEncoder(multibase.Base32)), nil
}

// ParseCID returns the hex reference a Swarm CID names, and its codec. The label is read
// case-insensitively, as hosts are.
func ParseCID(label string) (refHex string, codec uint64, err error) {
	// DNS is case-insensitive and browsers lower-case hosts: read base32 in either case.
	id, err := cid.Decode(strings.ToLower(label))
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrNotSwarmCID, err)
	}
	if id.Version() != 1 {
		return "", 0, fmt.Errorf("%w: CID version %d, want 1", ErrNotSwarmCID, id.Version())
	}
	codec = id.Prefix().Codec
	if codec != CodecManifest && codec != CodecFeed {
		return "", 0, fmt.Errorf("%w: codec 0x%x, want swarm-manifest 0xfa or swarm-feed 0xfb", ErrNotSwarmCID, codec)
	}
	dh, err := multihash.Decode(id.Hash())
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrNotSwarmCID, err)
	}
	if dh.Code != multihash.KECCAK_256 || len(dh.Digest) != refLen {
		return "", 0, fmt.Errorf("%w: multihash 0x%x of %d bytes, want keccak-256 of %d", ErrNotSwarmCID, dh.Code, len(dh.Digest), refLen)
	}
	return hex.EncodeToString(dh.Digest), codec, nil
}
