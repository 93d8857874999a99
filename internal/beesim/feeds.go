package beesim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"path"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// feedRef is a sequential feed: owner and topic (any length; Bee hashes it as given).
type feedRef struct {
	owner [swarm.AddressSize]byte
	topic []byte
}

func parseFeedParams(w http.ResponseWriter, ownerHex, topicHex string) (feedRef, bool) {
	owner, err := hex.DecodeString(strings.TrimPrefix(ownerHex, "0x"))
	if err != nil || len(owner) != swarm.AddressSize {
		writeError(w, http.StatusBadRequest, "invalid path params", reason{"owner", "invalid address"})
		return feedRef{}, false
	}
	topic, ok := parseRef(w, "topic", topicHex, false)
	if !ok {
		return feedRef{}, false
	}
	return feedRef{owner: [swarm.AddressSize]byte(owner), topic: topic}, true
}

// latestUpdate is the feed's highest-index update present, the SOC with id
// keccak256(topic || index as 8 bytes big-endian).
func (s *Sim) latestUpdate(f feedRef) (*swarm.SOC, uint64) {
	var latest *swarm.SOC
	index := uint64(0)
	for i := uint64(0); ; i++ {
		var idx [8]byte
		binary.BigEndian.PutUint64(idx[:], i)
		soc := s.soc(swarm.SOCAddress(swarm.Keccak256(f.topic, idx[:]), f.owner))
		if soc == nil {
			return latest, index
		}
		latest, index = soc, i
	}
}

// serveFeed is GET /feeds/{owner}/{topic}: the payload of the latest update.
func (s *Sim) serveFeed(w http.ResponseWriter, r *http.Request, ownerHex, topicHex string) {
	f, ok := parseFeedParams(w, ownerHex, topicHex)
	if !ok {
		return
	}
	if !retrievalHeadersOK(w, r) {
		return
	}
	latest, index := s.latestUpdate(f)
	if latest == nil {
		writeError(w, http.StatusNotFound, "no update found")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Swarm-Feed-Index", indexHex(index))
	h.Set("Swarm-Feed-Index-Next", indexHex(index+1))
	h.Set("Swarm-Soc-Signature", hex.EncodeToString(latest.Signature))
	h.Set("Swarm-Feed-Resolved-Version", "v2")
	s.serveWrapped(w, r, latest)
}

// serveFeedManifest is POST /feeds/{owner}/{topic}: a mantaray manifest whose root carries the
// feed's owner, topic and type, as Bee's feedPostHandler builds it (the body is not read).
// GET /bzz/{reference}/ then resolves the feed's latest update.
func (s *Sim) serveFeedManifest(w http.ResponseWriter, r *http.Request, ownerHex, topicHex string) {
	f, ok := parseFeedParams(w, ownerHex, topicHex)
	if !ok {
		return
	}
	level := swarm.LevelNone // v2.8.0 stores feed manifests at level 0 and ignores the header
	st, ok := s.batchFor(w, r, "feeds", func() bool {
		if !s.profile.v281 {
			return true
		}
		var ok bool
		level, ok = s.redundancyLevel(w, r)
		return ok
	})
	if !ok {
		return
	}
	s.stats.uploads.Add(1)
	m := swarm.NewManifest()
	err := m.Add(swarm.ManifestRootPath, make([]byte, swarm.HashSize), map[string]string{
		"swarm-feed-owner": hex.EncodeToString(f.owner[:]), "swarm-feed-topic": hex.EncodeToString(f.topic),
		"swarm-feed-type": "Sequence",
	})
	entry := &stored{feed: &f}
	var ref [swarm.HashSize]byte
	if err == nil {
		ref, err = m.Save(s.saveManifestNode(st, level, entry))
	}
	if err == errOverissued {
		writeError(w, http.StatusPaymentRequired, "batch is overissued")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "manifest store failed")
		return
	}
	refHex := hex.EncodeToString(ref[:])
	s.store(refHex, entry)
	writeJSON(w, http.StatusCreated, map[string]string{"reference": refHex})
}

// saveManifestNode stores a manifest node as Bee's loadsave does: a chunk tree at the
// upload's level, every chunk stamped; the last node saved is the root, kept for /chunks.
func (s *Sim) saveManifestNode(st *stamper, level swarm.Level, entry *stored) func([]byte) ([swarm.HashSize]byte, error) {
	return func(node []byte) ([swarm.HashSize]byte, error) {
		tw := swarm.NewTreeWriter(level, func(c swarm.Chunk) error {
			if c.Kind == swarm.KindData || c.Kind == swarm.KindIntermediate {
				entry.chunk = append(entry.chunk[:0], c.Data...)
			}
			return st.stamp(c.Address[:])
		})
		_, _ = tw.Write(node)
		return tw.Sum()
	}
}

// serveBzz serves a path of a manifest as Bee's serveReference: a feed manifest first resolves
// to its latest update's content (answers then carry Swarm-Feed-Index and no ETag); the empty
// path is the index document; a directory without its slash redirects; a missing path falls
// back to the directory's index document, then the error document.
func (s *Sim) serveBzz(w http.ResponseWriter, r *http.Request, entry *stored, p string, notFound func(string)) {
	if entry == nil {
		notFound("address not found or incorrect")
		return
	}
	feedResolved := false
	if entry.feed != nil {
		latest, index := s.latestUpdate(*entry.feed)
		if latest == nil {
			notFound("no update found")
			return
		}
		target, version := s.resolveUpdate(latest)
		if target == nil {
			notFound("bzz download: feed pointing to the wrapped chunk not found")
			return
		}
		w.Header().Set("Swarm-Feed-Index", indexHex(index))
		w.Header().Set("Swarm-Feed-Resolved-Version", version)
		entry, feedResolved = target, true
	}
	if entry.files == nil {
		notFound("address not found or incorrect")
		return
	}
	index, errDoc, _ := strings.Cut(entry.index, "\x00")
	serve := func(f *file) {
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Content-Disposition", `inline; filename="`+quoteEscaper.Replace(f.name)+`"`)
		ref := f.ref
		if feedResolved {
			ref = "" // feed content is mutable: Bee sends no ETag
		} else if r.Method == http.MethodHead {
			h.Set("ETag", `"`+ref+`"`) // Bee's HEAD /bzz keeps the ETag; HEAD /bytes has none
		}
		s.serveContent(w, r, ref, bytes.NewReader(f.data), int64(len(f.data)))
	}
	if p == "" {
		if f := entry.files[index]; index != "" && f != nil {
			serve(f)
			return
		}
		notFound("address not found or incorrect")
		return
	}
	if f := entry.files[p]; f != nil {
		serve(f)
		return
	}
	if !strings.HasPrefix(p, "/") && entry.hasPrefix(p+"/") {
		u := *r.URL
		u.Path += "/"
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
		return
	}
	if index != "" && !strings.HasSuffix(p, index) {
		if f := entry.files[path.Join(p, index)]; f != nil {
			serve(f)
			return
		}
	}
	if errDoc != "" && p != errDoc {
		if f := entry.files[errDoc]; f != nil {
			serve(f)
			return
		}
	}
	notFound("path address not found")
}

func (e *stored) hasPrefix(prefix string) bool {
	for p := range e.files {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// resolveUpdate finds what a feed update points to, as Bee's resolveFeed: a v1 payload
// (8-byte timestamp + reference) names the content; otherwise (v2) the wrapped chunk is the
// content's root chunk.
func (s *Sim) resolveUpdate(update *swarm.SOC) (*stored, string) {
	payload := update.Wrapped[swarm.SpanSize:]
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(payload) == 8+swarm.HashSize {
		if e := s.content[hex.EncodeToString(payload[8:])]; e != nil {
			return e, "v1"
		}
	}
	addr, _ := swarm.ChunkAddress(update.Wrapped)
	if e := s.content[hex.EncodeToString(addr[:])]; e != nil {
		return e, "v2"
	}
	return nil, ""
}
