package swarm

import (
	"encoding/binary"
	"slices"
)

//go:generate go run keccakf_gen.go

const (
	// keccakRate is how many bytes Keccak-256 absorbs per permutation (1600 - 2*256 bits).
	keccakRate  = 136
	rateLanes   = keccakRate / 8
	oneBlockMax = keccakRate - 1 // the longest message whose padding still fits its block
	// padLast is legacy Keccak's closing pad bit, in the last lane of the rate block.
	padLast = 0x80 << 56
)

// keccakOneBlock hashes msg of at most oneBlockMax bytes: its lanes absorbed straight into a
// zero state with legacy Keccak's 0x01 ... 0x80 padding, one permutation, four lanes out.
func keccakOneBlock(msg []byte) [HashSize]byte {
	var s [25]uint64
	absorbLast(&s, msg)
	keccakF1600(&s)
	return lanesBytes(s[:4])
}

// absorbLast XORs the final, partial block msg (shorter than keccakRate) and its padding
// into s.
func absorbLast(s *[25]uint64, msg []byte) {
	n := len(msg) / 8
	for i := 0; i < n; i++ {
		s[i] ^= binary.LittleEndian.Uint64(msg[8*i:])
	}
	var tail [8]byte
	copy(tail[:], msg[8*n:])
	tail[len(msg)%8] = 0x01
	s[n] ^= binary.LittleEndian.Uint64(tail[:])
	s[rateLanes-1] ^= padLast
}

// keccakSponge hashes a message of any length.
func keccakSponge(msg []byte) [HashSize]byte {
	var s [25]uint64
	for ; len(msg) >= keccakRate; msg = msg[keccakRate:] {
		for i := 0; i < rateLanes; i++ {
			s[i] ^= binary.LittleEndian.Uint64(msg[8*i:])
		}
		keccakF1600(&s)
	}
	absorbLast(&s, msg)
	keccakF1600(&s)
	return lanesBytes(s[:4])
}

// lanesBytes serialises four Keccak lanes as a 32-byte hash.
func lanesBytes(l []uint64) [HashSize]byte {
	var out [HashSize]byte
	for i := range 4 {
		binary.LittleEndian.PutUint64(out[8*i:], l[i])
	}
	return out
}

// Keccak256 is the legacy (pre-SHA-3) Keccak-256 Ethereum and Swarm use.
func Keccak256(parts ...[]byte) [HashSize]byte {
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	if total > oneBlockMax {
		return keccakSponge(slices.Concat(parts...))
	}
	var buf [oneBlockMax]byte
	n := 0
	for _, p := range parts {
		n += copy(buf[n:], p)
	}
	return keccakOneBlock(buf[:n])
}
