package swarm

// BytesLevel reports whether data, as a /bytes upload, has the reference ref at some
// redundancy level, and which: a reference does not tell the level its upload used, so a
// verifier tries each. The level changes only the chunks above the leaves (intermediate
// chunks' spans, parity chunks), so the leaves, nearly all of the hashing, are hashed once
// rather than once per level. Content of one chunk has the same reference at every level
// and reports LevelNone. Memory: 32 bytes per 4 KiB of data, plus one TreeWriter.
func BytesLevel(data []byte, ref [HashSize]byte) (Level, bool) {
	if len(data) <= ChunkSize {
		h := hashers.Get().(*Hasher)
		addr := h.Address(Span(uint64(len(data))), data)
		hashers.Put(h)
		return LevelNone, addr == ref
	}
	leaves := leafAddresses(data)
	for l := LevelNone; l <= LevelParanoid; l++ {
		if root, err := treeOverLeaves(l, data, leaves); err == nil && root == ref {
			return l, true
		}
	}
	return 0, false
}

// leafAddresses hashes data's 4 KiB chunks, four full ones at a time.
func leafAddresses(data []byte) [][HashSize]byte {
	h := hashers.Get().(*Hasher)
	defer hashers.Put(h)
	addrs := make([][HashSize]byte, (len(data)+ChunkSize-1)/ChunkSize)
	i := 0
	for ; (i+batchChunks)*ChunkSize <= len(data); i += batchChunks {
		h.fullAddresses((*[batchChunks][HashSize]byte)(addrs[i:]), Span(ChunkSize), data[i*ChunkSize:])
	}
	for ; i < len(addrs); i++ {
		p := data[i*ChunkSize : min((i+1)*ChunkSize, len(data))]
		addrs[i] = h.Address(Span(uint64(len(p))), p)
	}
	return addrs
}

// treeOverLeaves is the root of data's chunk tree at level l, its leaves' addresses given.
func treeOverLeaves(l Level, data []byte, leaves [][HashSize]byte) ([HashSize]byte, error) {
	w := NewTreeWriter(l, nil)
	for i, a := range leaves {
		if err := w.pushLeaf(a, data[i*ChunkSize:min((i+1)*ChunkSize, len(data))]); err != nil {
			return [HashSize]byte{}, err
		}
	}
	return w.Sum()
}
