package beesim

import (
	"archive/tar"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/crypto/sha3"
)

const (
	chunkSize = 4096
	refSize   = 32
	branches  = chunkSize / refSize
)

// stored is content that downloads can serve: raw bytes or a manifest of files.
type stored struct {
	data  []byte           // /bytes and /chunks content
	files map[string]*file // /bzz manifests
	index string           // /bzz index document
	synth *synthetic       // generated content
	size  int64
}

type file struct {
	name, contentType string
	data              []byte
}

// chunkAddress is keccak256(span || payload), the content address of one chunk. (Bee uses
// the BMT root of the payload; a plain hash keeps the same properties the gateway depends on:
// same content, same reference; addresses spread uniformly over buckets.)
func chunkAddress(span uint64, payload []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], span)
	h.Write(s[:])
	h.Write(payload)
	return h.Sum(nil)
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

// splitter builds Swarm's chunk tree bottom-up while the body streams through.
type splitter struct {
	st     *stamper
	levels [][][]byte // per level, the pending child references
	spans  [][]uint64
	size   uint64
}

func (sp *splitter) addLeaf(data []byte) error {
	addr := chunkAddress(uint64(len(data)), data)
	if err := sp.st.stamp(addr); err != nil {
		return err
	}
	sp.size += uint64(len(data))
	return sp.push(0, addr, uint64(len(data)))
}

func (sp *splitter) push(level int, ref []byte, span uint64) error {
	if len(sp.levels) <= level {
		sp.levels = append(sp.levels, nil)
		sp.spans = append(sp.spans, nil)
	}
	sp.levels[level] = append(sp.levels[level], ref)
	sp.spans[level] = append(sp.spans[level], span)
	if len(sp.levels[level]) == branches {
		return sp.fold(level)
	}
	return nil
}

// fold hashes a level's pending references into one intermediate chunk.
func (sp *splitter) fold(level int) error {
	refs, spans := sp.levels[level], sp.spans[level]
	sp.levels[level], sp.spans[level] = nil, nil
	var total uint64
	payload := make([]byte, 0, len(refs)*refSize)
	for i, r := range refs {
		payload = append(payload, r...)
		total += spans[i]
	}
	addr := chunkAddress(total, payload)
	if err := sp.st.stamp(addr); err != nil {
		return err
	}
	return sp.push(level+1, addr, total)
}

// root finishes the tree and returns the root reference.
func (sp *splitter) root() ([]byte, error) {
	if len(sp.levels) == 0 {
		if err := sp.addLeaf(nil); err != nil {
			return nil, err
		}
	}
	for level := 0; ; level++ {
		if level == len(sp.levels)-1 && len(sp.levels[level]) == 1 {
			return sp.levels[level][0], nil
		}
		if len(sp.levels[level]) > 0 {
			if err := sp.fold(level); err != nil {
				return nil, err
			}
		}
	}
}

// chunkStream reads r in 4 KiB chunks into the splitter, keeping a copy when keep.
func (s *Sim) chunkStream(r io.Reader, st *stamper, keep bool) (ref []byte, data []byte, size int64, err error) {
	sp := &splitter{st: st}
	buf := make([]byte, chunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := sp.addLeaf(buf[:n]); err != nil {
				return nil, nil, 0, err
			}
			if keep {
				data = append(data, buf[:n]...)
			}
			size += int64(n)
			s.stats.bytesUploaded.Add(int64(n))
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return nil, nil, 0, rerr
		}
	}
	ref, err = sp.root()
	return ref, data, size, err
}

// batchFor applies Bee's batch-header rules; it writes the error answer and returns ok=false
// when the upload must stop.
func (s *Sim) batchFor(w http.ResponseWriter, r *http.Request, route string) (*stamper, bool) {
	id := r.Header.Get("Swarm-Postage-Batch-Id")
	stampHeader := r.Header.Get("Swarm-Postage-Stamp")
	stampOptional := route == "chunks" || route == "soc"
	if stampOptional && stampHeader != "" {
		return &stamper{sim: s}, true // a pre-signed stamp wins over a batch id
	}
	if id == "" {
		if stampOptional {
			writeError(w, http.StatusBadRequest, "Either 'Swarm-Postage-Stamp' or 'Swarm-Postage-Batch-Id' header must be set in the request")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "invalid header params", reason{"swarm-postage-batch-id", "want required:"})
		return nil, false
	}
	if _, err := hex.DecodeString(id); err != nil {
		writeError(w, http.StatusBadRequest, "invalid header params", reason{"Swarm-Postage-Batch-Id", hexError(id)})
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

// hexError is Go's hex decoding message as Bee reports it.
func hexError(s string) string {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return fmt.Sprintf("invalid hex byte: U+%04X '%c'", c, c)
		}
	}
	return "odd length hex string"
}

func (s *Sim) serveUpload(w http.ResponseWriter, r *http.Request, route string) {
	if !s.uploadPrecheck(w, r) {
		return
	}
	st, ok := s.batchFor(w, r, route)
	if !ok {
		return
	}
	s.stats.uploads.Add(1)
	if strings.EqualFold(r.Header.Get("Swarm-Pin"), "true") {
		s.stats.pins.Add(1)
	}
	s.mu.Lock()
	keep := s.stored < s.opts.MaxStoredBytes
	s.mu.Unlock()

	var entry *stored
	var ref []byte
	var err error
	switch route {
	case "bzz":
		entry, ref, err = s.uploadBzz(r, st, keep)
	default:
		var data []byte
		var size int64
		ref, data, size, err = s.chunkStream(r.Body, st, keep)
		entry = &stored{data: data, size: size}
		if route == "soc" {
			s.recordSOC(r, data)
		}
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
	s.mu.Lock()
	if keep {
		s.content[refHex] = entry
		s.stored += entry.size
	}
	s.mu.Unlock()
	w.Header().Set("Swarm-Tag", strconv.FormatUint(uint64(s.stats.uploads.Load()), 10))
	if route == "bzz" {
		w.Header().Set("ETag", `"`+refHex+`"`)
	}
	writeJSON(w, http.StatusCreated, map[string]string{"reference": refHex})
}

// uploadBzz stores a single file (query `name`) or a tar collection (Swarm-Collection: true)
// under a manifest whose reference covers every path, name and content.
func (s *Sim) uploadBzz(r *http.Request, st *stamper, keep bool) (*stored, []byte, error) {
	entry := &stored{files: map[string]*file{}}
	var manifest []byte
	add := func(name, contentType string, body io.Reader) error {
		ref, data, size, err := s.chunkStream(body, st, keep)
		if err != nil {
			return err
		}
		entry.files[name] = &file{name: name, contentType: contentType, data: data}
		entry.size += size
		manifest = append(manifest, []byte(name+"\x00"+contentType+"\x00")...)
		manifest = append(manifest, ref...)
		return nil
	}
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
			if hdr.Typeflag != tar.TypeReg {
				continue
			}
			name := strings.TrimPrefix(hdr.Name, "./")
			ctype := mime.TypeByExtension(extension(name))
			if err := add(name, ctype, tr); err != nil {
				return nil, nil, err
			}
		}
		entry.index = r.Header.Get("Swarm-Index-Document")
	} else {
		name := r.URL.Query().Get("name")
		ctype := r.Header.Get("Content-Type")
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		if err := add(name, ctype, r.Body); err != nil {
			return nil, nil, err
		}
		entry.index = name
	}
	entry.index += "\x00" + r.Header.Get("Swarm-Error-Document")
	ref := chunkAddress(uint64(len(manifest)), append(manifest, []byte(entry.index)...))
	if err := st.stamp(ref); err != nil {
		return nil, nil, err
	}
	return entry, ref, nil
}

func extension(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}
