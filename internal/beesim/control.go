package beesim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// serveControl is the /_beesim/ control API (never a Bee path):
//
//	GET    /_beesim/stats            Stats as JSON
//	DELETE /_beesim/stats            reset the counters
//	GET    /_beesim/batches          every batch, listed or not
//	GET    /_beesim/faults           the fault state
//	PUT    /_beesim/faults           replace it: {"classes":{"download":{"latency":200000000,"status":0}},
//	                                 "cut_after":0,"purchase":"out_of_funds|busy|error","purchase_hang":false,
//	                                 "topup":"not_implemented|out_of_funds|busy|error"}
//	DELETE /_beesim/faults           clear every fault
//	POST   /_beesim/restart?for=5s   answer 503 syncing for that long
//	POST   /_beesim/synthetic?size=N&seed=S  -> {"reference":...} generated content
//	                        (&addressed=1: under its real /bytes reference)
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_beesim/stats":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.Stats())
		case http.MethodDelete:
			s.ResetStats()
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, http.StatusMethodNotAllowed, "use GET or DELETE")
		}
	case "/_beesim/batches":
		writeJSON(w, http.StatusOK, s.Batches())
	case "/_beesim/faults":
		switch r.Method {
		case http.MethodGet:
			s.mu.Lock()
			f := s.faults
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, f)
		case http.MethodPut, http.MethodPost:
			var f Faults
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
				writeError(w, http.StatusBadRequest, "faults: "+err.Error())
				return
			}
			s.SetFaults(f)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			s.ClearFaults()
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, http.StatusMethodNotAllowed, "use GET, PUT or DELETE")
		}
	case "/_beesim/restart":
		d, err := time.ParseDuration(r.URL.Query().Get("for"))
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "restart: want ?for=<duration>, e.g. 5s")
			return
		}
		s.Restart(d)
		w.WriteHeader(http.StatusNoContent)
	case "/_beesim/synthetic":
		size, err1 := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
		seed, _ := strconv.ParseInt(r.URL.Query().Get("seed"), 10, 64)
		if err1 != nil || size < 0 || r.Method != http.MethodPost {
			writeError(w, http.StatusBadRequest, "synthetic: POST with ?size=<bytes>&seed=<n>")
			return
		}
		add := s.AddSynthetic
		if r.URL.Query().Get("addressed") == "1" {
			add = s.AddAddressedSynthetic // the real /bytes reference: caches can verify it
		}
		writeJSON(w, http.StatusCreated, map[string]string{"reference": add(size, seed)})
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}
