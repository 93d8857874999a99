package beesim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// serveDownload is GET/HEAD of /bytes/{ref} and /bzz/{ref}/{path}.
func (s *Sim) serveDownload(w http.ResponseWriter, r *http.Request, seg []string) {
	ref := strings.ToLower(seg[1])
	head := r.Method == http.MethodHead
	raw, ok := parseRef(w, "address", ref, head && seg[0] == "bytes")
	if !ok {
		return
	}
	if !head && !retrievalHeadersOK(w, r) {
		return
	}
	s.mu.Lock()
	entry := s.content[ref]
	s.mu.Unlock()
	notFound := func(message string) {
		if head && seg[0] == "bytes" {
			w.WriteHeader(http.StatusNotFound) // Bee's HEAD /bytes answers bare statuses
			return
		}
		writeError(w, http.StatusNotFound, message)
	}
	switch seg[0] {
	case "bytes":
		if entry == nil || entry.files != nil || (entry.data == nil && entry.synth == nil) {
			if entry == nil && len(raw) != 32 && len(raw) != 64 {
				writeError(w, http.StatusInternalServerError, "joiner failed")
				return
			}
			notFound("Not Found")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		s.serveContent(w, r, ref, entry.reader(), entry.size)
	case "bzz":
		s.serveBzz(w, r, entry, strings.Join(seg[2:], "/"), notFound)
	}
}

// quoteEscaper escapes a file name for Content-Disposition as Bee does.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// serveContent answers like Bee's download handler: ETag "<ref>", then Go's ServeContent
// with modification time now (Last-Modified, Accept-Ranges, Range, 304, 416), optionally
// cut mid-body by a fault. HEAD gets Content-Length and the set headers only.
func (s *Sim) serveContent(w http.ResponseWriter, r *http.Request, ref string, content io.ReadSeeker, size int64) {
	h := w.Header()
	if r.Method == http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	if ref != "" {
		h.Set("ETag", `"`+ref+`"`)
	}
	cw := &countingWriter{ResponseWriter: w, cutAfter: s.cutAfter()}
	http.ServeContent(cw, r, "", time.Now(), content)
	s.stats.bytesServed.Add(cw.n)
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
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:8], uint64(size))
	binary.LittleEndian.PutUint64(key[8:], uint64(seed))
	sum := swarm.Keccak256(key[:])
	ref := hex.EncodeToString(sum[:])
	s.mu.Lock()
	s.content[ref] = &stored{synth: &synthetic{size: size, seed: seed}, size: size}
	s.mu.Unlock()
	return ref
}

// AddContent stores data for download under its /bytes reference at redundancy level 0,
// without a batch.
func (s *Sim) AddContent(data []byte) string {
	var tree []treeChunk
	ref, kept, root, size, _ := s.chunkStream(bytes.NewReader(data), &stamper{sim: s}, swarm.LevelNone, true, &tree)
	refHex := hex.EncodeToString(ref)
	s.store(refHex, &stored{data: kept, chunk: root, size: size})
	s.indexChunks(kept, tree)
	return refHex
}
