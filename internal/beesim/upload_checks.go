package beesim

import (
	"net/http"
	"strconv"
	"strings"
)

// uploadPrecheck applies Bee's checks that come before the batch's: the Swarm-Tag must be a
// tag this node issued, and an ACT upload's history must exist. Their refusals say nothing
// about the batch. It writes the answer and returns false when the upload must stop.
func (s *Sim) uploadPrecheck(w http.ResponseWriter, r *http.Request) bool {
	if v := strings.TrimSpace(r.Header.Get("Swarm-Tag")); v != "" {
		tag, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid header params", reason{"swarm-tag", "invalid syntax"})
			return false
		}
		// Tag 0 asks for a new one; the simulator issues tag n with its n-th upload.
		if tag > 0 && !s.tagIssued(tag) {
			writeError(w, http.StatusNotFound, "tag not found")
			return false
		}
	}
	if act, _ := strconv.ParseBool(r.Header.Get("Swarm-Act")); act && r.Header.Get("Swarm-Act-History-Address") != "" {
		// The simulator keeps no ACT histories: every history address is unknown to it. (An
		// ACT upload without one starts a new history in Bee; the simulator stores it plain.)
		writeError(w, http.StatusNotFound, "act or history entry not found")
		return false
	}
	return true
}

// tagIssued: the simulator answers upload n with Swarm-Tag n.
func (s *Sim) tagIssued(tag uint64) bool {
	return tag <= uint64(s.stats.uploads.Load())
}

// topUpFault answers a top-up the fault state refuses; it reports whether it did.
func (s *Sim) topUpFault(w http.ResponseWriter) bool {
	s.mu.Lock()
	kind := s.faults.TopUp
	s.mu.Unlock()
	switch kind {
	case TopUpNotImplemented:
		writeError(w, http.StatusNotImplemented, "Not Implemented")
	case TopUpOutOfFunds:
		writeError(w, http.StatusPaymentRequired, "out of funds")
	case TopUpBusy:
		writeError(w, http.StatusTooManyRequests, "simultaneous on-chain operations not supported")
	case TopUpError:
		writeError(w, http.StatusInternalServerError, "cannot topup batch")
	default:
		return false
	}
	return true
}
