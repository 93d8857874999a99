package cache

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// doorkeeper decides which answers are worth recording. Recording copies a body and
// verification hashes all of it (BMT hashing, tens of µs per 4 KiB): a key asked for once
// (most keys, on a gateway) or one that would only push out more popular entries should not
// pay for it. It is TinyLFU's admission rule applied before the copy and the hash, since
// otter's own W-TinyLFU only sees what was recorded: a key's answer is recorded when the key
// was asked for at least twice recently and more often per byte than the entries the cache
// has lately evicted for room (so a large body is recorded when it is asked for as often as
// the several small entries it would push out).
//
// Frequencies live in a direct-mapped table of 64-bit slots: a 60-bit key hash and a 4-bit
// count. A key that lands on a slot held by another decays the holder's count by one and
// takes the slot only when the count is down to one, so a popular key survives a stream of
// one-off keys. Every sampleFactor x slots sightings all counts halve (TinyLFU's aging), and
// so does the victims' average, so old popularity fades. A false match needs a 60-bit
// collision under a per-process random seed, so a client cannot aim for one.
type doorkeeper struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Uint64

	sightings atomic.Uint64
	sample    uint64
	aging     atomic.Bool

	// victimDensity is the running average of evicted entries' counts per byte (x 2^32).
	victimDensity atomic.Int64
}

// Doorkeeper sizing: a slot per 4 KiB of the larger tier (an entry of that size is the
// smallest worth remembering a key for), within bounds; 8 bytes a slot.
const (
	minDoorkeeperSlots = 1 << 12
	maxDoorkeeperSlots = 1 << 20
	sampleFactor       = 8
	countBits          = 4
	countMask          = 1<<countBits - 1
	minRecordCount     = 2  // a key asked for once is never recorded
	densityShift       = 32 // fixed point of victimDensity
	victimWeight       = 4  // 1/4: the average follows the last dozen evictions (BenchmarkZipfAdmission)
)

func newDoorkeeper(tierBytes int64) *doorkeeper {
	n := uint64(min(max(tierBytes>>12, minDoorkeeperSlots), maxDoorkeeperSlots))
	n = 1 << (63 - bits.LeadingZeros64(n)) // a power of two, for the mask
	return &doorkeeper{seed: maphash.MakeSeed(), mask: n - 1, slots: make([]atomic.Uint64, n), sample: sampleFactor * n}
}

func (d *doorkeeper) tag(key string) uint64 { return maphash.String(d.seed, key) &^ countMask }

// slot is where tag t lives: indexed by the hash bits above the count's.
func (d *doorkeeper) slot(t uint64) *atomic.Uint64 { return &d.slots[t>>countBits&d.mask] }

// sight counts a request for key (a hit or a miss).
func (d *doorkeeper) sight(key string) {
	t := d.tag(key)
	slot := d.slot(t)
	for {
		old := slot.Load()
		var next uint64
		switch n := old & countMask; {
		case old&^countMask == t:
			if n == countMask {
				next = old
			} else {
				next = old + 1
			}
		case n > 1:
			next = old - 1 // a one-off key wears a popular one down, slowly
		default:
			next = t | 1
		}
		if next == old || slot.CompareAndSwap(old, next) {
			break
		}
	}
	if d.sightings.Add(1)%d.sample == 0 {
		d.age()
	}
}

// age halves every count and the victims' average; one sweep at a time.
func (d *doorkeeper) age() {
	if !d.aging.CompareAndSwap(false, true) {
		return
	}
	defer d.aging.Store(false)
	for i := range d.slots {
		for {
			old := d.slots[i].Load()
			if d.slots[i].CompareAndSwap(old, old&^countMask|(old&countMask)>>1) {
				break
			}
		}
	}
	for {
		v := d.victimDensity.Load()
		if d.victimDensity.CompareAndSwap(v, v/2) {
			break
		}
	}
}

// count is key's recent request count (0 when its slot holds another key).
func (d *doorkeeper) count(key string) int64 {
	t := d.tag(key)
	old := d.slot(t).Load()
	if old&^countMask != t {
		return 0
	}
	return int64(old & countMask)
}

// density is count requests per byte of an entry of size bytes, in fixed point.
func density(count, size int64) int64 { return count << densityShift / max(size, 1) }

// worthRecording reports whether the answer for key, of size bytes, should be recorded for
// admission: asked for at least twice, and more often per byte than what the cache lately
// evicted for room (a large entry pushes out several small ones, so it has to be asked
// for as often as all of them).
func (d *doorkeeper) worthRecording(key string, size int64) bool {
	n := d.count(key)
	return n >= minRecordCount && density(n, size) > d.victimDensity.Load()
}

// evicted notes that the cache evicted key, of size bytes, for room: the bar a new key
// must pass.
func (d *doorkeeper) evicted(key string, size int64) {
	x := density(d.count(key), size)
	for {
		v := d.victimDensity.Load()
		if d.victimDensity.CompareAndSwap(v, v+(x-v)/victimWeight) {
			return
		}
	}
}
