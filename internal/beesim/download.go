package beesim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/sha3"
)

func (s *Sim) serveDownload(w http.ResponseWriter, r *http.Request, seg []string) {
	ref := strings.ToLower(seg[1])
	s.mu.Lock()
	entry := s.content[ref]
	s.mu.Unlock()
	if entry == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch seg[0] {
	case "bytes", "chunks":
		if len(seg) != 2 || entry.files != nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		s.serveContent(w, r, ref, "", entry.reader(), entry.size)
	case "bzz":
		if len(seg) == 2 {
			// Bee redirects the bare manifest to its directory form.
			w.Header().Set("Location", seg[1]+"/")
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		if entry.files == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		path := strings.Join(seg[2:], "/")
		index, errDoc, _ := strings.Cut(entry.index, "\x00")
		if path == "" || strings.HasSuffix(path, "/") {
			path += index
		}
		f := entry.files[path]
		if f == nil && errDoc != "" {
			f = entry.files[errDoc]
		}
		if f == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		w.Header().Set("Content-Type", f.contentType)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.name}))
		s.serveContent(w, r, ref, f.contentType, bytes.NewReader(f.data), int64(len(f.data)))
	}
}

// serveContent answers like Bee: Content-Length, Accept-Ranges, ETag "<ref>", Range and
// If-None-Match (http.ServeContent), optionally cut mid-body by a fault.
func (s *Sim) serveContent(w http.ResponseWriter, r *http.Request, ref, ctype string, content io.ReadSeeker, size int64) {
	h := w.Header()
	h.Set("ETag", `"`+ref+`"`)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	if ctype == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
	cw := &countingWriter{ResponseWriter: w, cutAfter: s.cutAfter()}
	http.ServeContent(cw, r, "", time.Time{}, content)
	s.stats.bytesServed.Add(cw.n)
	_ = size
}

// countingWriter counts body bytes and, when a cut fault is set, aborts the connection after
// cutAfter bytes, as Bee does when a chunk cannot be retrieved mid-stream.
type countingWriter struct {
	http.ResponseWriter
	n        int64
	cutAfter int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.cutAfter > 0 && c.n+int64(len(p)) > c.cutAfter {
		keep := c.cutAfter - c.n
		if keep > 0 {
			n, _ := c.ResponseWriter.Write(p[:keep])
			c.n += int64(n)
		}
		http.NewResponseController(c.ResponseWriter).Flush()
		panic(http.ErrAbortHandler)
	}
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (e *stored) reader() io.ReadSeeker {
	if e.synth != nil {
		return io.NewSectionReader(e.synth, 0, e.synth.size)
	}
	return bytes.NewReader(e.data)
}

// synthetic is deterministic generated content served without storing it.
type synthetic struct {
	size int64
	seed int64
}

func (g *synthetic) ReadAt(p []byte, off int64) (int, error) {
	if off >= g.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > g.size-off {
		n = int(g.size - off)
	}
	// Byte pos is byte pos%8 of splitmix64(pos/8 ^ key): a word at a time, so the simulator
	// can serve gigabytes without being the bottleneck of a benchmark.
	key := uint64(g.seed) * 0x9E3779B97F4A7C15
	for i := 0; i < n; {
		pos := off + int64(i)
		w := splitmix64(uint64(pos>>3) ^ key)
		if pos&7 == 0 && n-i >= 8 {
			binary.LittleEndian.PutUint64(p[i:], w)
			i += 8
			continue
		}
		p[i] = byte(w >> (8 * (pos & 7)))
		i++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func splitmix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// AddSynthetic registers size bytes of generated content and returns its reference.
func (s *Sim) AddSynthetic(size, seed int64) string {
	h := sha3.NewLegacyKeccak256()
	_ = binary.Write(h, binary.LittleEndian, [2]int64{size, seed})
	ref := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	s.content[ref] = &stored{synth: &synthetic{size: size, seed: seed}, size: size}
	s.mu.Unlock()
	return ref
}

// AddContent stores data for download under its reference, without a batch.
func (s *Sim) AddContent(data []byte) string {
	ref, kept, size, _ := s.chunkStream(bytes.NewReader(data), &stamper{sim: s}, true)
	refHex := hex.EncodeToString(ref)
	s.mu.Lock()
	s.content[refHex] = &stored{data: kept, size: size}
	s.mu.Unlock()
	return refHex
}

// feeds: an update is a SOC whose id is keccak256(topic || index, 8 bytes big-endian); GET
// /feeds/{owner}/{topic} serves the payload of the highest index present.
func (s *Sim) recordSOC(r *http.Request, data []byte) {
	seg := strings.Split(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1"), "/"), "/")
	if len(seg) != 3 || seg[0] != "soc" {
		return
	}
	s.mu.Lock()
	s.socs[strings.ToLower(seg[1]+"/"+seg[2])] = data
	s.mu.Unlock()
}

func feedUpdateID(topic []byte, index uint64) string {
	h := sha3.NewLegacyKeccak256()
	h.Write(topic)
	var i [8]byte
	binary.BigEndian.PutUint64(i[:], index)
	h.Write(i[:])
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Sim) serveFeed(w http.ResponseWriter, r *http.Request, owner, topic string) {
	topicBytes, err := hex.DecodeString(topic)
	if err != nil || len(topicBytes) != 32 {
		writeError(w, http.StatusBadRequest, "invalid path params", reason{"topic", "want len:32"})
		return
	}
	owner = strings.ToLower(owner)
	s.mu.Lock()
	var latest []byte
	index := uint64(0)
	found := false
	for i := uint64(0); ; i++ {
		data, ok := s.socs[owner+"/"+feedUpdateID(topicBytes, i)]
		if !ok {
			break
		}
		latest, index, found = data, i, true
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if len(latest) >= 8 {
		latest = latest[8:] // Bee answers the wrapped chunk's payload, without its span
	}
	idx := make([]byte, 8)
	binary.BigEndian.PutUint64(idx, index)
	next := make([]byte, 8)
	binary.BigEndian.PutUint64(next, index+1)
	w.Header().Set("Swarm-Feed-Index", hex.EncodeToString(idx))
	w.Header().Set("Swarm-Feed-Index-Next", hex.EncodeToString(next))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(latest)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(latest)
	}
}
