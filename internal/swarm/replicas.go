package swarm

// replicasOwner is the Ethereum address of Bee's fixed replica signer (private key 0x01 followed
// by 31 zero bytes): dispersed replicas of a root chunk are its single-owner chunks.
var replicasOwner = [AddressSize]byte{0xdc, 0x5b, 0x20, 0x84, 0x7f, 0x43, 0xd6, 0x79, 0x28, 0xf4,
	0x9c, 0xd4, 0xf8, 0x5d, 0x69, 0x6b, 0x5a, 0x76, 0x17, 0xb5}

// replicaIndexBases: where each level's neighbourhoods start in the seen-set.
var replicaIndexBases = [5]int{0, 2, 6, 14}

// ReplicaAddresses are the addresses of the dispersed replicas Bee stores for a root chunk at
// a redundancy level (pkg/replicas): SOCs keccak256(id || replica owner) whose id is the root
// address with its first byte replaced by 0, 1, 2, ..., chosen so they fall in distinct
// neighbourhoods (1 bit of address for the first 2, 2 bits for the next 2, and so on).
func ReplicaAddresses(root [HashSize]byte, level Level) [][HashSize]byte {
	count := level.ReplicaCount()
	if count == 0 {
		return nil
	}
	var (
		queue [16]*[HashSize]byte
		seen  [30]bool
		sizes = replicaCounts // next free queue slot per depth
	)
	// add places a candidate at the shallowest depth where its neighbourhood is new, as
	// Bee's replicator.add; it reports whether it was placed.
	var add func(addr *[HashSize]byte, l Level) bool
	add = func(addr *[HashSize]byte, l Level) bool {
		if l == LevelNone {
			return false
		}
		nh := replicaIndexBases[l-1] + int(addr[0]>>(8-uint8(l)))
		if seen[nh] {
			return false
		}
		seen[nh] = true
		if !add(addr, l-1) {
			queue[sizes[l-1]] = addr
			sizes[l-1]++
		}
		return true
	}
	filled := func() int {
		n := 0
		for n < count && queue[n] != nil {
			n++
		}
		return n
	}
	for i := 0; i < 255 && filled() < count; i++ {
		id := root
		id[0] = byte(i)
		addr := Keccak256(id[:], replicasOwner[:])
		add(&addr, level)
	}
	out := make([][HashSize]byte, 0, count)
	for _, a := range queue[:filled()] {
		out = append(out, *a)
	}
	return out
}
