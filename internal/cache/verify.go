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

// treeRootIs tries each redundancy level, the common one (none) first. Content of one chunk
// has the same reference at every level (the level lives in intermediate chunks' spans), so
// one try settles it.
func treeRootIs(body []byte, ref string) bool {
	top := swarm.LevelParanoid
	if len(body) <= swarm.ChunkSize {
		top = swarm.LevelNone
	}
	for l := swarm.LevelNone; l <= top; l++ {
		w := swarm.NewTreeWriter(l, nil)
		if _, err := w.Write(body); err != nil {
			return false
		}
		root, err := w.Sum()
		if err != nil {
			return false
		}
		if addressIs(root, ref) {
			return true
		}
	}
	return false
}

// addressIs compares an address with a lower-case hex reference without allocating: a
// /chunks entry's verification is one per chunk.
func addressIs(addr [swarm.HashSize]byte, ref string) bool {
	var buf [2 * swarm.HashSize]byte
	hex.Encode(buf[:], addr[:])
	return string(buf[:]) == ref
}
