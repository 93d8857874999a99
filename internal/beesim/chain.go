package beesim

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// batch is one postage batch on the simulated chain.
type batch struct {
	ID          string
	Label       string
	Depth       int
	Amount      *big.Int // per chunk: purchase plus top-ups
	Immutable   bool
	BoughtBlock uint64
	buckets     map[uint16]uint32
	stamped     map[[32]byte]struct{} // chunk addresses stamped with this batch
	maxBucket   uint32
}

const (
	bucketDepth  = 16
	minDepth     = 17
	minTTLBlocks = int64(minValidity / gnosisBlockTime)
)

// Bee's 24 h minimum validity counts blocks of its chain (Gnosis, 5 s); the simulated chain
// keeps that count whatever its own, accelerated, BlockTime.
const (
	minValidity     = 24 * time.Hour
	gnosisBlockTime = 5 * time.Second
)

// BatchInfo is a batch as tests see it, listed or not.
type BatchInfo struct {
	BatchID     string   `json:"batchID"`
	Label       string   `json:"label"`
	Depth       int      `json:"depth"`
	Amount      *big.Int `json:"amount"`
	Immutable   bool     `json:"immutableFlag"`
	Listed      bool     `json:"listed"`
	Usable      bool     `json:"usable"`
	Expired     bool     `json:"expired"`
	TTL         int64    `json:"batchTTL"`
	Utilization uint32   `json:"utilization"`
	Stamped     int      `json:"stamped"` // distinct chunks stamped with it (data, tree, parity, replicas)
}

// remainingBlocks: blocks the batch's balance still pays for.
func (s *Sim) remainingBlocksLocked(b *batch) int64 {
	paid := new(big.Int).Quo(b.Amount, s.opts.Price)
	used := int64(s.block() - b.BoughtBlock)
	if !paid.IsInt64() {
		return 1 << 62
	}
	return paid.Int64() - used
}

func (s *Sim) ttlLocked(b *batch) int64 {
	left := s.remainingBlocksLocked(b)
	if left <= 0 {
		return 0
	}
	return int64(time.Duration(left) * s.opts.BlockTime / time.Second)
}

func (s *Sim) listedLocked(b *batch) bool {
	return s.block() >= b.BoughtBlock+s.opts.ListedAfterBlocks
}

func (s *Sim) usableLocked(b *batch) bool {
	return s.block() >= b.BoughtBlock+s.opts.UsableAfterBlocks && !s.expiredLocked(b)
}

func (s *Sim) expiredLocked(b *batch) bool { return s.remainingBlocksLocked(b) <= 0 }

func (s *Sim) infoLocked(b *batch) BatchInfo {
	return BatchInfo{
		BatchID: b.ID, Label: b.Label, Depth: b.Depth, Amount: new(big.Int).Set(b.Amount), Immutable: b.Immutable,
		Listed: s.listedLocked(b), Usable: s.usableLocked(b), Expired: s.expiredLocked(b),
		TTL: s.ttlLocked(b), Utilization: b.maxBucket, Stamped: len(b.stamped),
	}
}

// Batches lists every batch ever bought on this node, in purchase order.
func (s *Sim) Batches() []BatchInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BatchInfo, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.infoLocked(s.batches[id]))
	}
	return out
}

// CreateBatch buys a batch without HTTP, spending the wallet like a purchase. usableNow
// backdates it so it is listed and usable at once.
func (s *Sim) CreateBatch(depth int, amount *big.Int, label string, immutable, usableNow bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.newBatchLocked(depth, amount, label, immutable)
	if usableNow {
		back := s.opts.UsableAfterBlocks
		if b.BoughtBlock < back {
			s.start = s.start.Add(-time.Duration(back-b.BoughtBlock) * s.opts.BlockTime)
		}
		b.BoughtBlock = s.block() - back
	}
	return b.ID
}

func (s *Sim) newBatchLocked(depth int, amount *big.Int, label string, immutable bool) *batch {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	b := &batch{ID: hex.EncodeToString(raw), Label: label, Depth: depth, Amount: new(big.Int).Set(amount),
		Immutable: immutable, BoughtBlock: s.block(), buckets: map[uint16]uint32{}, stamped: map[[32]byte]struct{}{}}
	s.balance.Sub(s.balance, cost(amount, depth))
	s.batches[b.ID] = b
	s.order = append(s.order, b.ID)
	s.stats.purchases.Add(1)
	return b
}

func cost(amount *big.Int, depth int) *big.Int {
	return new(big.Int).Lsh(amount, uint(depth))
}

func (s *Sim) serveChainState(w http.ResponseWriter) {
	s.mu.Lock()
	block := s.block()
	total := new(big.Int).Mul(s.opts.Price, new(big.Int).SetUint64(block))
	s.mu.Unlock()
	body := map[string]any{
		"chainTip": block, "block": block, "totalAmount": total.String(), "currentPrice": s.opts.Price.String(),
	}
	if s.profile.v281 {
		body["minimumValidityBlocks"] = minTTLBlocks
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Sim) serveWallet(w http.ResponseWriter) {
	s.mu.Lock()
	bal := s.balance.String()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"bzzBalance": bal, "nativeTokenBalance": "1000000000000000000", "chainID": 100,
		"chequebookContractAddress": "0x0000000000000000000000000000000000000001",
		"walletAddress":             "0x" + walletAddress,
	})
}

func (s *Sim) stampJSONLocked(b *batch) map[string]any {
	out := map[string]any{
		"batchID": b.ID, "utilization": b.maxBucket,
		"usable": s.usableLocked(b), "label": b.Label, "depth": b.Depth, "amount": b.Amount.String(),
		"bucketDepth": bucketDepth, "blockNumber": b.BoughtBlock, "immutableFlag": b.Immutable,
		"exists": true, "batchTTL": s.ttlLocked(b),
	}
	if s.profile.v281 {
		out["utilizationRatio"] = float64(b.maxBucket) / float64(uint64(1)<<(b.Depth-bucketDepth))
	}
	return out
}

func (s *Sim) serveStamps(w http.ResponseWriter, r *http.Request, seg []string) {
	switch {
	case len(seg) == 1 && isGet(r):
		s.mu.Lock()
		list := []map[string]any{}
		for _, id := range s.order {
			b := s.batches[id]
			if s.listedLocked(b) && !s.expiredLocked(b) {
				list = append(list, s.stampJSONLocked(b))
			}
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"stamps": list})
	case len(seg) == 3 && seg[2] == "buckets" && r.Method == http.MethodGet:
		s.serveBuckets(w, seg[1])
	case len(seg) == 2 && r.Method == http.MethodPatch && s.profile.v281:
		s.serveLabel(w, r, seg[1])
	case len(seg) == 2 && isGet(r):
		id := seg[1]
		raw, err := hex.DecodeString(id)
		if err != nil || len(raw) != 32 {
			writeError(w, http.StatusBadRequest, "invalid path params", reason{"batch_id", "want len:32"})
			return
		}
		s.mu.Lock()
		b, ok := s.batches[strings.ToLower(id)]
		var body map[string]any
		usable := ok && s.usableLocked(b)
		expired := ok && s.expiredLocked(b)
		if ok {
			body = s.stampJSONLocked(b)
		}
		s.mu.Unlock()
		switch {
		case !ok || expired:
			writeError(w, http.StatusNotFound, "issuer does not exist")
		case !usable:
			writeError(w, http.StatusBadRequest, "batch not usable")
		default:
			writeJSON(w, http.StatusOK, body)
		}
	case len(seg) == 3 && seg[2] != "buckets" && r.Method == http.MethodPost:
		s.serveBuy(w, r, seg[1], seg[2])
	case len(seg) == 4 && r.Method == http.MethodPatch && (seg[1] == "topup" || seg[1] == "dilute"):
		s.serveTopUpDilute(w, seg[1], seg[2], seg[3])
	default:
		if allow := s.allowedMethods(seg); allow != nil {
			methodNotAllowed(w, allow)
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

// beginOnChain claims the node's single on-chain slot; Bee allows one operation at a time.
func (s *Sim) beginOnChain() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onChain {
		return false
	}
	s.onChain = true
	return true
}

func (s *Sim) endOnChain() {
	s.mu.Lock()
	s.onChain = false
	s.mu.Unlock()
}

func (s *Sim) serveBuy(w http.ResponseWriter, r *http.Request, amountStr, depthStr string) {
	amount, ok := new(big.Int).SetString(amountStr, 10)
	if !ok || amount.Sign() <= 0 {
		writeError(w, http.StatusBadRequest, "invalid path params", reason{"amount", "invalid syntax"})
		return
	}
	depth, err := strconv.Atoi(depthStr)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid path params", reason{"depth", "invalid syntax"})
		return
	}
	if depth < minDepth {
		writeError(w, http.StatusBadRequest, "invalid path params", reason{"depth", "want min:17"})
		return
	}
	immutable := true
	if v := r.Header.Get("Immutable"); v != "" {
		immutable, err = strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid header params", reason{"immutable", "invalid syntax"})
			return
		}
	}
	label := r.URL.Query().Get("label")
	if f := s.purchaseFault(); f != "" {
		switch f {
		case PurchaseOutOfFunds:
			writeError(w, http.StatusBadRequest, "out of funds")
			return
		case PurchaseBusy:
			writeError(w, http.StatusTooManyRequests, "simultaneous on-chain operations not supported")
			return
		case PurchaseError:
			writeError(w, http.StatusInternalServerError, "cannot create batch")
			return
		}
	}
	minimum := new(big.Int).Mul(s.opts.Price, big.NewInt(minTTLBlocks))
	if amount.Cmp(minimum) <= 0 {
		writeError(w, http.StatusBadRequest, "insufficient amount for 24h minimum validity")
		return
	}
	if !s.beginOnChain() {
		writeError(w, http.StatusTooManyRequests, "simultaneous on-chain operations not supported")
		return
	}
	s.mu.Lock()
	if s.balance.Cmp(cost(amount, depth)) < 0 {
		s.onChain = false
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "out of funds")
		return
	}
	hang := s.faults.PurchaseHang
	s.mu.Unlock()
	// Mining takes time; the batch exists on chain once mined, whether or not the caller
	// is still there to hear about it (Bee has no idempotency).
	time.Sleep(s.opts.PurchaseLatency)
	s.mu.Lock()
	b := s.newBatchLocked(depth, amount, label, immutable)
	s.onChain = false
	s.mu.Unlock()
	if hang {
		<-r.Context().Done() // the caller times out; the batch was bought all the same
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"batchID": b.ID, "txHash": "0x" + b.ID})
}

func (s *Sim) serveTopUpDilute(w http.ResponseWriter, op, id, arg string) {
	s.mu.Lock()
	b, ok := s.batches[strings.ToLower(id)]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "issuer does not exist")
		return
	}
	if op == "topup" && s.topUpFault(w) {
		return
	}
	if !s.beginOnChain() {
		writeError(w, http.StatusTooManyRequests, "simultaneous on-chain operations not supported")
		return
	}
	defer s.endOnChain()
	time.Sleep(s.opts.PurchaseLatency)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "topup":
		amount, ok := new(big.Int).SetString(arg, 10)
		if !ok || amount.Sign() <= 0 {
			writeError(w, http.StatusBadRequest, "invalid path params", reason{"amount", "invalid syntax"})
			return
		}
		c := cost(amount, b.Depth)
		if s.balance.Cmp(c) < 0 {
			writeError(w, http.StatusPaymentRequired, "out of funds")
			return
		}
		s.balance.Sub(s.balance, c)
		b.Amount.Add(b.Amount, amount)
		s.stats.topUps.Add(1)
	case "dilute":
		depth, err := strconv.Atoi(arg)
		if err != nil || depth <= b.Depth {
			writeError(w, http.StatusBadRequest, "invalid depth")
			return
		}
		// Doubling the chunk count halves the remaining balance per chunk for each step.
		left := new(big.Int).Sub(b.Amount, new(big.Int).Mul(s.opts.Price, new(big.Int).SetUint64(s.block()-b.BoughtBlock)))
		left.Rsh(left, uint(depth-b.Depth))
		b.Amount = left.Add(left, new(big.Int).Mul(s.opts.Price, new(big.Int).SetUint64(s.block()-b.BoughtBlock)))
		b.Depth = depth
		s.stats.dilutes.Add(1)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"batchID": b.ID, "txHash": "0x" + b.ID})
}

// FillBatch fills every bucket of a batch to capacity, as if it had been uploaded to until
// full: the next chunk stamped with an immutable batch gets 402.
func (s *Sim) FillBatch(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[strings.ToLower(id)]
	if !ok {
		return false
	}
	capacity := uint32(1) << (b.Depth - bucketDepth)
	for i := 0; i < 1<<bucketDepth; i++ {
		b.buckets[uint16(i)] = capacity
	}
	b.maxBucket = capacity
	return true
}
