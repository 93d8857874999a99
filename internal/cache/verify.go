package cache

import (
	"encoding/hex"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// verify reports whether body is the content its entry claims: a chunk's bytes hash to its
// address, a /bytes body's chunk tree to its reference (at any redundancy level, which the
// reference does not tell), and a /bzz file's to the file reference Bee sends as its ETag.
// What cannot be checked (encrypted references, a /bzz answer without a hex ETag) is
// refused: the cache never serves bytes it could not tie to an address. For /bzz this
// checks the file's bytes, not the manifest lookup that chose the file for the path.
func verify(t Target, etag string, body []byte) bool {
	switch t.Kind {
	case KindChunks:
		addr, ok := swarm.ChunkAddress(body)
		return ok && addressIs(addr, t.Ref)
	case KindBytes:
		return len(t.Ref) == 64 && treeRootIs(body, t.Ref)
	case KindBzz:
		ref := strings.ToLower(strings.Trim(strings.TrimPrefix(etag, "W/"), `"`))
		return isHexRef(ref, true) && treeRootIs(body, ref)
	}
	return false
}

// treeRootIs reports whether body's chunk tree has the reference ref at some redundancy
// level: the leaves are hashed once for all levels (swarm.BytesLevel), so content uploaded
// at a level (Bee 2.8.1's default is medium) costs little more than content at none.
func treeRootIs(body []byte, ref string) bool {
	want, err := hex.DecodeString(ref)
	if err != nil || len(want) != swarm.HashSize {
		return false
	}
	_, ok := swarm.BytesLevel(body, [swarm.HashSize]byte(want))
	return ok
}

// addressIs compares an address with a lower-case hex reference without allocating: a
// /chunks entry's verification is one per chunk.
func addressIs(addr [swarm.HashSize]byte, ref string) bool {
	var buf [2 * swarm.HashSize]byte
	hex.Encode(buf[:], addr[:])
	return string(buf[:]) == ref
}
