package beesim

import (
	"archive/tar"
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// stored is content that downloads can serve: raw bytes or a manifest of files.
type stored struct {
	data  []byte           // /bytes content
	chunk []byte           // the root chunk as GET /chunks answers it (span+payload, or a SOC)
	files map[string]*file // /bzz manifests
	index string           // /bzz index document
	synth *synthetic       // generated content
	feed  *feedRef         // a feed manifest: /bzz resolves its latest update
	size  int64
}

type file struct {
	name, contentType string // name is the base name Content-Disposition carries
	data              []byte
	ref               string // the file's content reference: its ETag
}

// stamper charges chunks to a batch's buckets, as Bee's stamp issuer does.
type stamper struct {
	sim   *Sim
	batch *batch // nil when a pre-signed stamp was sent
}

// errOverissued: an immutable batch's bucket is full.
var errOverissued = fmt.Errorf("batch is overissued")

func (st *stamper) stamp(addr []byte) error {
	if st.batch == nil {
		return nil
	}
	st.sim.mu.Lock()
	defer st.sim.mu.Unlock()
	b := st.batch
	// Like Bee's stamper: a chunk this batch already stamped keeps its index and takes no
	// new slot in its bucket.
	key := [32]byte(addr[:32])
	if _, ok := b.stamped[key]; ok {
		return nil
	}
	bucket := binary.BigEndian.Uint16(addr[:2])
	capacity := uint32(1) << (b.Depth - bucketDepth)
	n := b.buckets[bucket]
	if n >= capacity {
		if b.Immutable {
			return errOverissued
		}
		return nil // a mutable batch overwrites the bucket's oldest chunk
	}
	b.buckets[bucket] = n + 1
	b.stamped[key] = struct{}{}
	if n+1 > b.maxBucket {
		b.maxBucket = n + 1
	}
	return nil
}

// chunkStream builds the upload's chunk tree at a redundancy level while the body streams
// through, stamping every chunk it makes (data, intermediate, parity, root replicas) as Bee
// does. It keeps a copy of the content when keep, and the root chunk's span+payload; tree,
// when set, collects where every data and intermediate chunk is, for GET /chunks.
func (s *Sim) chunkStream(r io.Reader, st *stamper, level swarm.Level, keep bool, tree *[]treeChunk) (ref []byte, data, root []byte, size int64, err error) {
	rootBuf := make([]byte, 0, swarm.ChunkWithSpanSize)
	var off int64
	tw := swarm.NewTreeWriter(level, func(c swarm.Chunk) error {
		switch c.Kind {
		case swarm.KindData:
			if tree != nil {
				n := len(c.Data) - swarm.SpanSize
				*tree = append(*tree, treeChunk{addr: c.Address, off: off, n: n})
				off += int64(n)
			}
		case swarm.KindIntermediate:
			if tree != nil {
				*tree = append(*tree, treeChunk{addr: c.Address, raw: append([]byte(nil), c.Data...)})
			}
		}
		if c.Kind == swarm.KindData || c.Kind == swarm.KindIntermediate {
			rootBuf = append(rootBuf[:0], c.Data...) // the last tree chunk made is the root
		}
		return st.stamp(c.Address[:])
	})
	if keep {
		data = []byte{} // kept, even when empty
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := tw.Write(buf[:n]); err != nil {
				return nil, nil, nil, 0, err
			}
			if keep {
				data = append(data, buf[:n]...)
			}
			size += int64(n)
			s.stats.bytesUploaded.Add(int64(n))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, nil, nil, 0, rerr
		}
	}
	sum, err := tw.Sum()
	if err != nil {
		return nil, nil, nil, 0, err
	}
	return sum[:], data, rootBuf, size, nil
}

// treeChunk locates one chunk of a kept upload: a data chunk by its place in the content, an
// intermediate chunk by a copy (1/128 of the content's size).
type treeChunk struct {
	addr [swarm.HashSize]byte
	off  int64
	n    int
	raw  []byte
}

// chunkLoc is a kept tree chunk: raw, or n bytes of content at off.
type chunkLoc struct {
	content []byte
	off     int64
	n       int
	raw     []byte
}

// indexChunks makes the chunks of a kept upload answer GET /chunks/{address}.
func (s *Sim) indexChunks(content []byte, tree []treeChunk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range tree {
		s.chunks[c.addr] = chunkLoc{content: content, off: c.off, n: c.n, raw: c.raw}
	}
}

// treeChunkData is span+payload of a kept tree chunk, or nil.
func (s *Sim) treeChunkData(addr [swarm.HashSize]byte) []byte {
	s.mu.Lock()
	loc, ok := s.chunks[addr]
	s.mu.Unlock()
	switch {
	case !ok:
		return nil
	case loc.raw != nil:
		return loc.raw
	}
	span := swarm.Span(uint64(loc.n))
	return append(span[:], loc.content[loc.off:loc.off+int64(loc.n)]...)
}

// batchFor applies Bee's batch-header rules; it writes the error answer and returns ok=false
// when the upload must stop. check, when set, runs after the headers parsed and before the
// batch lookup, as Bee validates its other headers first.
func (s *Sim) batchFor(w http.ResponseWriter, r *http.Request, route string, check func() bool) (*stamper, bool) {
	id := r.Header.Get("Swarm-Postage-Batch-Id")
	stampHeader := r.Header.Get("Swarm-Postage-Stamp")
	stampOptional := route == "chunks" || route == "soc"
	if _, err := hex.DecodeString(id); err != nil {
		writeError(w, http.StatusBadRequest, "invalid header params", reason{"Swarm-Postage-Batch-Id", hexError(id)})
		return nil, false
	}
	if stampOptional {
		if _, err := hex.DecodeString(stampHeader); err != nil {
			writeError(w, http.StatusBadRequest, "invalid header params", reason{"Swarm-Postage-Stamp", hexError(stampHeader)})
			return nil, false
		}
	}
	if check != nil && !check() {
		return nil, false
	}
	if stampOptional && stampHeader != "" {
		return s.presignedStamp(w, stampHeader) // a pre-signed stamp wins over a batch id
	}
	if id == "" {
		if stampOptional {
			writeError(w, http.StatusBadRequest, "Either 'Swarm-Postage-Stamp' or 'Swarm-Postage-Batch-Id' header must be set in the request")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "invalid header params", reason{"swarm-postage-batch-id", "want required:"})
		return nil, false
	}
	s.mu.Lock()
	b, ok := s.batches[strings.ToLower(id)]
	usable := ok && s.usableLocked(b)
	expired := ok && s.expiredLocked(b)
	s.mu.Unlock()
	switch {
	case !ok || expired:
		writeError(w, http.StatusNotFound, "batch with id not found")
		return nil, false
	case !usable:
		writeError(w, http.StatusUnprocessableEntity, "batch not usable yet or does not exist")
		return nil, false
	}
	return &stamper{sim: s, batch: b}, true
}

// stampSize is a pre-signed postage stamp: batch id (32), index (8), timestamp (8),
// signature (65).
const stampSize = 113

// presignedStamp accepts a stamp of a batch on the simulated chain, as Bee looks its batch up
// among all batches. Its signature is not checked (the simulator has no batch owner keys) and
// it takes no slot in this node's buckets: the client that signed it keeps that count.
func (s *Sim) presignedStamp(w http.ResponseWriter, stampHex string) (*stamper, bool) {
	raw, _ := hex.DecodeString(stampHex)
	if len(raw) != stampSize {
		writeError(w, http.StatusBadRequest, "Stamp deserialization failure")
		return nil, false
	}
	s.mu.Lock()
	b, ok := s.batches[hex.EncodeToString(raw[:32])]
	ok = ok && s.listedLocked(b) && !s.expiredLocked(b)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid batch id")
		return nil, false
	}
	return &stamper{sim: s}, true
}

// hexError is Go's hex decoding message as Bee reports it.
func hexError(s string) string {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return fmt.Sprintf("invalid hex byte: U+%04X '%c'", c, c)
		}
	}
	return "odd length hex string"
}

// serveUpload takes /bytes and /bzz uploads.
func (s *Sim) serveUpload(w http.ResponseWriter, r *http.Request, route string) {
	if !s.uploadPrecheck(w, r) {
		return
	}
	level := s.profile.defaultLevel
	st, ok := s.batchFor(w, r, route, func() bool {
		var ok bool
		level, ok = s.redundancyLevel(w, r)
		return ok
	})
	if !ok {
		return
	}
	s.stats.uploads.Add(1)
	if strings.EqualFold(r.Header.Get("Swarm-Pin"), "true") {
		s.stats.pins.Add(1)
	}
	keep := s.keepMore()

	var entry *stored
	var ref []byte
	var err error
	var tree []treeChunk // the /bytes tree, indexed for GET /chunks once stored
	switch route {
	case "bzz":
		entry, ref, err = s.uploadBzz(r, st, level, keep)
	default:
		var data, root []byte
		var size int64
		ref, data, root, size, err = s.chunkStream(r.Body, st, level, keep, &tree)
		entry = &stored{data: data, chunk: root, size: size}
	}
	if err == errOverissued {
		writeError(w, http.StatusPaymentRequired, "batch is overissued")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the upload failed: "+err.Error())
		return
	}
	refHex := hex.EncodeToString(ref)
	if keep {
		s.store(refHex, entry)
		s.indexChunks(entry.data, tree)
	}
	w.Header().Set("Swarm-Tag", strconv.FormatUint(uint64(s.stats.uploads.Load()), 10))
	if route == "bzz" && !strings.EqualFold(r.Header.Get("Swarm-Collection"), "true") {
		w.Header().Set("ETag", `"`+refHex+`"`) // a single file; Bee sets none on collections
	}
	writeJSON(w, http.StatusCreated, map[string]string{"reference": refHex})
}

// keepMore reports whether uploads are still kept for download (MaxStoredBytes).
func (s *Sim) keepMore() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.stored < s.opts.MaxStoredBytes
}

func (s *Sim) store(ref string, e *stored) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.content[ref]; old != nil {
		*s.stored -= old.size
	}
	s.content[ref] = e
	*s.stored += e.size
}

// uploadBzz stores a single file (query `name`) or a tar collection (Swarm-Collection: true)
// as Bee does: each file is a /bytes chunk tree, and a mantaray manifest over them (saved as
// chunk trees too, every chunk stamped) gives the reference.
func (s *Sim) uploadBzz(r *http.Request, st *stamper, level swarm.Level, keep bool) (*stored, []byte, error) {
	entry := &stored{files: map[string]*file{}}
	m := swarm.NewManifest()
	// store uploads one file; the caller adds it to the manifest (Bee's order of Add calls
	// matters: a node takes its reference size from the first entry it sees).
	store := func(path, name, contentType string, body io.Reader) (string, []byte, map[string]string, error) {
		var tree []treeChunk
		ref, data, _, size, err := s.chunkStream(body, st, level, keep, &tree)
		if err == nil && keep {
			s.indexChunks(data, tree)
		}
		if err != nil {
			return "", nil, nil, err
		}
		refHex := hex.EncodeToString(ref)
		if path == "" {
			path, name = refHex, refHex // Bee names an unnamed single file after its reference
		}
		entry.files[path] = &file{name: filepath.Base(name), contentType: contentType, data: data, ref: refHex}
		entry.size += size
		return path, ref, map[string]string{swarm.ManifestEntryContentType: contentType, swarm.ManifestEntryFilenameKey: name}, nil
	}
	rootMeta := map[string]string{}
	if strings.EqualFold(r.Header.Get("Swarm-Collection"), "true") {
		tr := tar.NewReader(r.Body)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("reading the tar collection: %w", err)
			}
			path := filepath.ToSlash(filepath.Clean(hdr.Name))
			if path == "." || !hdr.FileInfo().Mode().IsRegular() {
				continue
			}
			path, ref, meta, err := store(path, hdr.FileInfo().Name(), mime.TypeByExtension(filepath.Ext(hdr.Name)), tr)
			if err != nil {
				return nil, nil, err
			}
			if err := m.Add(path, ref, meta); err != nil {
				return nil, nil, err
			}
		}
		entry.index = r.Header.Get("Swarm-Index-Document")
		if entry.index != "" {
			rootMeta[swarm.ManifestIndexDocumentKey] = entry.index
		}
		if e := r.Header.Get("Swarm-Error-Document"); e != "" {
			rootMeta[swarm.ManifestErrorDocumentKey] = e
		}
	} else {
		name := r.URL.Query().Get("name")
		ctype := r.Header.Get("Content-Type")
		body := io.Reader(r.Body)
		if ctype == "" {
			// Like Bee, sniff the type from the first 512 bytes.
			br := bufio.NewReaderSize(r.Body, 512)
			head, _ := br.Peek(512)
			ctype = http.DetectContentType(head)
			body = br
		}
		name, ref, meta, err := store(name, name, ctype, body)
		if err != nil {
			return nil, nil, err
		}
		entry.index = name
		// Bee adds the root's index document first, then the file.
		if err := m.Add(swarm.ManifestRootPath, nil, map[string]string{swarm.ManifestIndexDocumentKey: name}); err != nil {
			return nil, nil, err
		}
		if err := m.Add(name, ref, meta); err != nil {
			return nil, nil, err
		}
	}
	if len(rootMeta) > 0 { // a collection's website metadata comes last
		if err := m.Add(swarm.ManifestRootPath, nil, rootMeta); err != nil {
			return nil, nil, err
		}
	}
	entry.index += "\x00" + r.Header.Get("Swarm-Error-Document")
	ref, err := m.Save(s.saveManifestNode(st, level, entry))
	if err != nil {
		return nil, nil, err
	}
	return entry, ref[:], nil
}
