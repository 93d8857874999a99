package beesim

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// readChunkBody reads an upload of one chunk, answering 413 like Bee's body limit when it is
// longer than limit.
func readChunkBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, http.StatusText(http.StatusRequestEntityTooLarge))
		return nil, false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, http.StatusText(http.StatusRequestEntityTooLarge))
		return nil, false
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read chunk data")
		return nil, false
	}
	return data, true
}

// serveChunkUpload is POST /chunks: one chunk as span+payload, addressed by its BMT hash.
// Like Bee, a body too long for a content-addressed chunk is taken as a single-owner chunk
// (id, signature, span, payload) when it is a valid one.
func (s *Sim) serveChunkUpload(w http.ResponseWriter, r *http.Request) {
	st, ok := s.batchFor(w, r, "chunks", nil)
	if !ok {
		return
	}
	data, ok := readChunkBody(w, r, swarm.SOCMaxSize)
	if !ok {
		return
	}
	if len(data) < swarm.SpanSize {
		writeError(w, http.StatusBadRequest, "insufficient data length")
		return
	}
	s.stats.uploads.Add(1)
	s.stats.bytesUploaded.Add(int64(len(data)))
	var addr [swarm.HashSize]byte
	entry := &stored{chunk: data, size: int64(len(data))}
	if a, ok := swarm.ChunkAddress(data); ok {
		addr = a
		// GET /bytes of a single chunk joins it: its payload, cut to the span.
		if span := binary.LittleEndian.Uint64(data[:swarm.SpanSize]); span <= uint64(len(data)-swarm.SpanSize) {
			entry.data = data[swarm.SpanSize : swarm.SpanSize+int(span)]
		}
	} else {
		soc, err := swarm.ParseSOC(data)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "create chunk error")
			return
		}
		addr = soc.Address
		s.recordSOC(soc)
	}
	if err := st.stamp(addr[:]); err != nil {
		writeError(w, http.StatusPaymentRequired, "batch is overissued")
		return
	}
	ref := hex.EncodeToString(addr[:])
	if s.keepMore() {
		s.store(ref, entry)
	}
	if tag := r.Header.Get("Swarm-Tag"); tag != "" && tag != "0" {
		w.Header().Set("Swarm-Tag", tag)
	}
	writeJSON(w, http.StatusCreated, map[string]string{"reference": ref})
}

// parseRef reads a hex reference path parameter; a malformed one gets Bee's 400.
func parseRef(w http.ResponseWriter, field, v string, headOnly bool) ([]byte, bool) {
	raw, err := hex.DecodeString(v)
	if err != nil {
		if headOnly {
			w.WriteHeader(http.StatusBadRequest)
		} else {
			writeError(w, http.StatusBadRequest, "invalid path params", reason{field, hexError(v)})
		}
		return nil, false
	}
	return raw, true
}

// serveChunk is GET /chunks/{address}: the chunk as stored (span+payload, or a SOC). HEAD
// only says whether the node has it, in Bee's JSON envelope.
func (s *Sim) serveChunk(w http.ResponseWriter, r *http.Request, ref string) {
	if _, ok := parseRef(w, "address", ref, false); !ok {
		return
	}
	s.mu.Lock()
	entry := s.content[ref]
	s.mu.Unlock()
	var data []byte
	if entry != nil {
		data = entry.rootChunk()
	}
	if raw, err := hex.DecodeString(ref); data == nil && err == nil && len(raw) == swarm.HashSize {
		data = s.treeChunkData([swarm.HashSize]byte(raw))
	}
	head := r.Method == http.MethodHead
	switch {
	case data == nil && head:
		writeError(w, http.StatusNotFound, "Not Found")
		return
	case data == nil:
		writeError(w, http.StatusNotFound, "chunk not found")
		return
	case head:
		writeError(w, http.StatusOK, "OK")
		return
	}
	w.Header().Set("Content-Type", "binary/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	n, _ := w.Write(data)
	s.stats.bytesServed.Add(int64(n))
}

// rootChunk is the stored root chunk, or for generated content a stand-in one: its span and
// the first bytes of content (generated content has no chunk tree).
func (e *stored) rootChunk() []byte {
	if e.chunk != nil {
		return e.chunk
	}
	if e.synth == nil {
		return nil
	}
	n := min(e.size, swarm.ChunkSize)
	out := make([]byte, swarm.SpanSize+n)
	binary.LittleEndian.PutUint64(out, uint64(e.size))
	_, _ = e.synth.ReadAt(out[swarm.SpanSize:], 0)
	return out
}
