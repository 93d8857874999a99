package beesim

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// batchByPath reads a 32-byte batch id path parameter, answering Bee's 400 otherwise.
func batchIDParam(w http.ResponseWriter, id string) (string, bool) {
	raw, err := hex.DecodeString(id)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid path params", reason{"batch_id", hexError(id)})
		return "", false
	}
	if len(raw) != 32 {
		writeError(w, http.StatusBadRequest, "invalid path params", reason{"batch_id", "want len:32"})
		return "", false
	}
	return hex.EncodeToString(raw), true
}

// serveBuckets is GET /stamps/{id}/buckets: the fill of each of the batch's 2^16 buckets.
func (s *Sim) serveBuckets(w http.ResponseWriter, id string) {
	id, ok := batchIDParam(w, id)
	if !ok {
		return
	}
	type bucket struct {
		BucketID   uint32 `json:"bucketID"`
		Collisions uint32 `json:"collisions"`
	}
	s.mu.Lock()
	b, found := s.batches[id]
	if !found || s.expiredLocked(b) {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "issuer does not exist")
		return
	}
	if !s.usableLocked(b) {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "batch not usable")
		return
	}
	buckets := make([]bucket, 1<<bucketDepth)
	for i := range buckets {
		buckets[i] = bucket{BucketID: uint32(i), Collisions: b.buckets[uint16(i)]}
	}
	body := map[string]any{
		"depth": b.Depth, "bucketDepth": bucketDepth, "bucketUpperBound": uint32(1) << (b.Depth - bucketDepth),
		"buckets": buckets,
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// serveLabel is PATCH /stamps/{id} {"label":"..."} (v2.8.1): renames the batch's label.
func (s *Sim) serveLabel(w http.ResponseWriter, r *http.Request, id string) {
	id, ok := batchIDParam(w, id)
	if !ok {
		return
	}
	var body struct {
		Label string `json:"label"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body")
		return
	}
	if strings.TrimSpace(body.Label) == "" {
		writeError(w, http.StatusBadRequest, "label is required")
		return
	}
	s.mu.Lock()
	b, found := s.batches[id]
	if found && !s.expiredLocked(b) {
		b.Label = body.Label
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "issuer does not exist")
		return
	}
	writeError(w, http.StatusOK, "OK")
}

// serveBatch is GET /batches/{id} (v2.8.1): the batch as the chain knows it.
func (s *Sim) serveBatch(w http.ResponseWriter, id string) {
	id, ok := batchIDParam(w, id)
	if !ok {
		return
	}
	s.mu.Lock()
	b, found := s.batches[id]
	var body map[string]any
	if found && s.listedLocked(b) && !s.expiredLocked(b) {
		body = map[string]any{
			"batchID": b.ID, "value": b.Amount.String(), "start": b.BoughtBlock, "owner": walletAddress,
			"depth": b.Depth, "bucketDepth": bucketDepth, "immutable": b.Immutable, "batchTTL": s.ttlLocked(b),
		}
	}
	s.mu.Unlock()
	if body == nil {
		writeError(w, http.StatusNotFound, "batch not found")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// walletAddress is the simulated node's Ethereum address, without 0x.
const walletAddress = "0000000000000000000000000000000000000002"
