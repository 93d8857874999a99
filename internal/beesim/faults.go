package beesim

import (
	"net/http"
	"time"
)

// Route classes, for faults and stats.
const (
	ClassDownload = "download"
	ClassUpload   = "upload"
	ClassStamps   = "stamps"
	ClassOther    = "other"
)

// Purchase faults.
const (
	PurchaseOutOfFunds = "out_of_funds"
	PurchaseBusy       = "busy"
	PurchaseError      = "error" // 500 cannot create batch: may have reached the chain
)

// Top-up faults: refusals before the chain (a dev node's 501, 402, 429) and a failure that
// may have reached it (500).
const (
	TopUpNotImplemented = "not_implemented"
	TopUpOutOfFunds     = "out_of_funds"
	TopUpBusy           = "busy"
	TopUpError          = "error"
)

// ClassFault slows or fails one route class.
type ClassFault struct {
	Latency time.Duration `json:"latency"`
	Status  int           `json:"status"`
	Message string        `json:"message,omitempty"`
}

func (f *ClassFault) message() string {
	if f.Message != "" {
		return f.Message
	}
	if f.Status == http.StatusServiceUnavailable {
		return "Node is syncing. This endpoint is unavailable. Try again later."
	}
	return http.StatusText(f.Status)
}

// Faults is the simulator's whole fault state.
type Faults struct {
	Classes map[string]ClassFault `json:"classes,omitempty"`
	// CutAfter aborts every download after this many body bytes (0: never).
	CutAfter int64 `json:"cut_after,omitempty"`
	// Purchase makes purchases fail: out_of_funds, busy or error.
	Purchase string `json:"purchase,omitempty"`
	// TopUp makes top-ups fail: not_implemented, out_of_funds, busy or error.
	TopUp string `json:"topup,omitempty"`
	// PurchaseHang: purchases create the batch but never answer (the caller times out).
	PurchaseHang bool `json:"purchase_hang,omitempty"`
}

// SetFaults replaces the fault state.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// ClearFaults removes every fault and ends a simulated restart.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	s.faults = Faults{}
	s.syncTill = time.Time{}
	s.mu.Unlock()
}

// SetClassFault sets the fault of one route class.
func (s *Sim) SetClassFault(class string, f ClassFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.Classes == nil {
		s.faults.Classes = map[string]ClassFault{}
	}
	s.faults.Classes[class] = f
}

// SetPurchaseHang makes purchases hang after buying (true) or answer normally (false).
func (s *Sim) SetPurchaseHang(hang bool) {
	s.mu.Lock()
	s.faults.PurchaseHang = hang
	s.mu.Unlock()
}

// SetPurchaseFailure makes purchases fail with PurchaseOutOfFunds or PurchaseBusy ("" clears).
func (s *Sim) SetPurchaseFailure(kind string) {
	s.mu.Lock()
	s.faults.Purchase = kind
	s.mu.Unlock()
}

// SetTopUpFailure makes top-ups fail with one of the TopUp* kinds ("" clears).
func (s *Sim) SetTopUpFailure(kind string) {
	s.mu.Lock()
	s.faults.TopUp = kind
	s.mu.Unlock()
}

// SetCutAfter aborts downloads after n body bytes (0 clears).
func (s *Sim) SetCutAfter(n int64) {
	s.mu.Lock()
	s.faults.CutAfter = n
	s.mu.Unlock()
}

// Restart simulates a node restart: every route but /health answers 503 syncing for d.
func (s *Sim) Restart(d time.Duration) {
	s.mu.Lock()
	s.syncTill = s.opts.Now().Add(d)
	s.mu.Unlock()
}

func (s *Sim) fault(class string) *ClassFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.faults.Classes[class]
	if !ok || (f.Latency == 0 && f.Status == 0) {
		return nil
	}
	return &f
}

func (s *Sim) purchaseFault() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Purchase
}

func (s *Sim) cutAfter() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.CutAfter
}

func routeClass(method, path string) string {
	p := path
	if len(p) > 3 && p[:4] == "/v1/" {
		p = p[3:]
	}
	root := p
	if i := indexByte(p[1:], '/'); i >= 0 {
		root = p[:i+1]
	}
	switch root {
	case "/stamps", "/chainstate", "/wallet":
		return ClassStamps
	case "/bytes", "/bzz", "/chunks", "/soc", "/feeds":
		if method == http.MethodPost {
			return ClassUpload
		}
		return ClassDownload
	}
	return ClassOther
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
