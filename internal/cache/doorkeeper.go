package cache

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// doorkeeper remembers recently missed keys so that only a key's second miss is recorded:
// recording copies the body and verification hashes all of it (BMT hashing, tens of µs per
// 4 KiB), which a key asked for once (most keys, on a gateway) would pay for nothing. It is
// W-TinyLFU's doorkeeper in front of otter's own admission, which only sees what was
// recorded.
//
// A direct-mapped table of 64-bit key hashes, lock-free, of fixed size: a newer key takes
// an older one's slot, which then needs one more miss to be recorded. A false "seen" needs
// a full 64-bit collision under a per-process random seed, so a client cannot aim for one.
type doorkeeper struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Uint64
}

// Doorkeeper sizing: a slot per 4 KiB of the larger tier (an entry of that size is the
// smallest worth remembering a key for), within bounds; 8 bytes a slot.
const (
	minDoorkeeperSlots = 1 << 12
	maxDoorkeeperSlots = 1 << 20
)

func newDoorkeeper(tierBytes int64) *doorkeeper {
	n := uint64(min(max(tierBytes>>12, minDoorkeeperSlots), maxDoorkeeperSlots))
	n = 1 << (63 - bits.LeadingZeros64(n)) // a power of two, for the mask
	return &doorkeeper{seed: maphash.MakeSeed(), mask: n - 1, slots: make([]atomic.Uint64, n)}
}

// sight records a request for key that the cache missed.
func (d *doorkeeper) sight(key string) {
	h := d.hash(key)
	slot := &d.slots[h&d.mask]
	old := slot.Load()
	switch old {
	case h | again:
	case h:
		slot.CompareAndSwap(old, h|again) // a lost race only delays admission by a miss
	default:
		slot.Store(h)
	}
}

// recurring reports whether key was missed at least twice since its slot last changed
// hands: a flight's body is worth recording.
func (d *doorkeeper) recurring(key string) bool {
	h := d.hash(key)
	return d.slots[h&d.mask].Load() == h|again
}

// again marks a slot's key as missed more than once; hashes keep bit 0 clear for it, and a
// slot is empty at 0 (a hash is never 0: bit 1 is set).
const again = 1

func (d *doorkeeper) hash(key string) uint64 { return maphash.String(d.seed, key)&^again | 2 }
