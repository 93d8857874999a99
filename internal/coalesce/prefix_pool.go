package coalesce

import (
	"math/bits"
	"sync"
)

// Join-prefix buffers are recycled: nearly every unshared flight keeps one (up to
// joinPrefixLimit bytes) and drops it unused when its upstream ends. A buffer goes back
// to its pool only from a flight that never became shared, under flight.mu, so no reader
// can still hold it; a prefix handed to a spool is never recycled.
//
// Sizes are powers of two from firstChunkSize to joinPrefixLimit, one pool each.
var prefixPools [prefixClasses]sync.Pool

const prefixClasses = 5 // 4, 8, 16, 32, 64 KiB

// prefixClassSize rounds n up to its pool's buffer size (n <= joinPrefixLimit).
func prefixClassSize(n int) int {
	if n <= firstChunkSize {
		return firstChunkSize
	}
	return 1 << bits.Len(uint(n-1))
}

func prefixClass(size int) int {
	return bits.Len(uint(size)) - bits.Len(uint(firstChunkSize))
}

// getPrefix returns an empty buffer of capacity size (a prefixClassSize). The pools hold
// array pointers, so neither Get nor Put allocates.
func getPrefix(size int) []byte {
	switch p := prefixPools[prefixClass(size)].Get().(type) {
	case *[4 << 10]byte:
		return p[:0]
	case *[8 << 10]byte:
		return p[:0]
	case *[16 << 10]byte:
		return p[:0]
	case *[32 << 10]byte:
		return p[:0]
	case *[64 << 10]byte:
		return p[:0]
	}
	return make([]byte, 0, size)
}

// putPrefix recycles a buffer no one else references.
func putPrefix(b []byte) {
	b = b[:cap(b)]
	var boxed any
	switch len(b) {
	case 4 << 10:
		boxed = (*[4 << 10]byte)(b)
	case 8 << 10:
		boxed = (*[8 << 10]byte)(b)
	case 16 << 10:
		boxed = (*[16 << 10]byte)(b)
	case 32 << 10:
		boxed = (*[32 << 10]byte)(b)
	case 64 << 10:
		boxed = (*[64 << 10]byte)(b)
	default:
		return
	}
	prefixPools[prefixClass(len(b))].Put(boxed)
}
