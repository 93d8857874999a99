package beesim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// serveSOCUpload is POST /soc/{owner}/{id}?sig=<hex>: the body is the wrapped chunk
// (span+payload), the address keccak256(id || owner), and the signature must recover owner.
// Checks run in Bee's order: path, query, headers, batch, body, signature.
func (s *Sim) serveSOCUpload(w http.ResponseWriter, r *http.Request, ownerHex, idHex string) {
	owner, ok := parseRef(w, "owner", ownerHex, false)
	if !ok {
		return
	}
	id, ok := parseRef(w, "id", idHex, false)
	if !ok {
		return
	}
	sigHex := r.URL.Query().Get("sig")
	if sigHex == "" {
		writeError(w, http.StatusBadRequest, "invalid query params", reason{"sig", "want required:"})
		return
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid query params", reason{"sig", hexError(sigHex)})
		return
	}
	st, ok := s.batchFor(w, r, "soc", nil)
	if !ok {
		return
	}
	wrapped, ok := readChunkBody(w, r, swarm.ChunkWithSpanSize)
	if !ok {
		return
	}
	if len(wrapped) < swarm.SpanSize {
		writeError(w, http.StatusBadRequest, "short chunk data")
		return
	}
	if len(owner) != swarm.AddressSize {
		writeError(w, http.StatusUnauthorized, "invalid address")
		return
	}
	// Bee's soc.Valid: the signature must recover the owner, and the id be 32 bytes.
	wrappedAddr, _ := swarm.ChunkAddress(wrapped)
	var recovered [swarm.AddressSize]byte
	if len(id) == swarm.HashSize {
		recovered, err = swarm.RecoverSOCOwner(sig, [swarm.HashSize]byte(id), wrappedAddr)
	}
	if len(id) != swarm.HashSize || err != nil || !bytes.Equal(recovered[:], owner) {
		writeError(w, http.StatusUnauthorized, "invalid chunk")
		return
	}
	socData := append(append(append([]byte{}, id...), sig...), wrapped...)
	soc, err := swarm.ParseSOC(socData)
	if err != nil { // cannot happen after the checks above; never store an unverified SOC
		writeError(w, http.StatusUnauthorized, "invalid chunk")
		return
	}
	if err := st.stamp(soc.Address[:]); err != nil {
		writeError(w, http.StatusPaymentRequired, "batch is overissued")
		return
	}
	s.stats.uploads.Add(1)
	s.stats.bytesUploaded.Add(int64(len(wrapped)))
	if strings.EqualFold(r.Header.Get("Swarm-Pin"), "true") {
		s.stats.pins.Add(1)
	}
	s.recordSOC(soc)
	ref := hex.EncodeToString(soc.Address[:])
	if s.keepMore() {
		s.store(ref, &stored{chunk: socData, size: int64(len(socData))})
	}
	// v2.8.1 tags a deferred or pinned SOC upload: an explicit Swarm-Deferred-Upload wins,
	// else a given Swarm-Tag means deferred; the given tag is used, or a new one made.
	if s.profile.v281 {
		tag := r.Header.Get("Swarm-Tag")
		if tag == "0" {
			tag = ""
		}
		deferred := tag != ""
		if v := r.Header.Get("Swarm-Deferred-Upload"); v != "" {
			deferred = strings.EqualFold(v, "true")
		}
		if deferred || strings.EqualFold(r.Header.Get("Swarm-Pin"), "true") {
			if tag == "" {
				tag = strconv.FormatInt(s.stats.uploads.Load(), 10)
			}
			w.Header().Set("Swarm-Tag", tag)
		}
	}
	writeJSON(w, http.StatusCreated, map[string]string{"reference": ref})
}

// recordSOC keeps a verified single-owner chunk for GET /soc and /feeds.
func (s *Sim) recordSOC(soc *swarm.SOC) {
	s.mu.Lock()
	s.socs[soc.Address] = soc
	s.mu.Unlock()
}

func (s *Sim) soc(addr [swarm.HashSize]byte) *swarm.SOC {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socs[addr]
}

// serveSOC is GET /soc/{owner}/{id}: the wrapped chunk's content, with its signature.
func (s *Sim) serveSOC(w http.ResponseWriter, r *http.Request, ownerHex, idHex string) {
	owner, ok := parseRef(w, "owner", ownerHex, false)
	if !ok {
		return
	}
	id, ok := parseRef(w, "id", idHex, false)
	if !ok {
		return
	}
	if !retrievalHeadersOK(w, r) {
		return
	}
	addr := swarm.Keccak256(id, owner)
	soc := s.soc(addr)
	if soc == nil {
		writeError(w, http.StatusNotFound, "requested chunk cannot be retrieved")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Swarm-Soc-Signature", hex.EncodeToString(soc.Signature))
	s.serveWrapped(w, r, soc)
}

// serveWrapped answers a SOC's wrapped chunk as Bee's download handler does: the content
// under it (its payload cut to the span, or for the root of a larger tree the joined
// content), ETag the wrapped chunk's address.
func (s *Sim) serveWrapped(w http.ResponseWriter, r *http.Request, soc *swarm.SOC) {
	addr, _ := swarm.ChunkAddress(soc.Wrapped)
	ref := hex.EncodeToString(addr[:])
	spanBytes := [swarm.SpanSize]byte(soc.Wrapped[:swarm.SpanSize])
	if spanBytes[swarm.SpanSize-1] > 128 {
		spanBytes[swarm.SpanSize-1] = 0 // a redundancy level rides in the top byte
	}
	span := binary.LittleEndian.Uint64(spanBytes[:])
	var content io.ReadSeeker
	size := int64(span)
	if payload := soc.Wrapped[swarm.SpanSize:]; span <= uint64(len(payload)) {
		content = bytes.NewReader(payload[:span])
	} else {
		s.mu.Lock()
		entry := s.content[ref]
		s.mu.Unlock()
		if entry == nil || (entry.data == nil && entry.synth == nil) {
			writeError(w, http.StatusNotFound, "wrapped chunk cannot be retrieved")
			return
		}
		content, size = entry.reader(), entry.size
	}
	s.serveContent(w, r, ref, content, size)
}

func indexHex(i uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], i)
	return hex.EncodeToString(b[:])
}
