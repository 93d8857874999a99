package pool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Storage is the part of certmagic.Storage (Caddy's ctx.Storage()) the ledger needs. A
// missing key is reported as fs.ErrNotExist.
type Storage interface {
	Lock(ctx context.Context, name string) error
	Unlock(ctx context.Context, name string) error
	Store(ctx context.Context, key string, value []byte) error
	Load(ctx context.Context, key string) ([]byte, error)
}

// State is where a batch is in its life in the pool.
type State string

// Lifecycle: pending -> reserve -> active | issued | retired.
const (
	Pending  State = "pending"
	Reserve  State = "reserve"
	Active   State = "active"
	Issued   State = "issued"
	Retired  State = "retired"
	ledgerV1       = 1
)

// record is one batch the pool bought.
type record struct {
	ID            string    `json:"id"`
	Label         string    `json:"label"`
	Depth         int       `json:"depth"`
	State         State     `json:"state"`
	Amount        string    `json:"amount"`
	BoughtAt      time.Time `json:"bought_at"`
	UsableAt      time.Time `json:"usable_at,omitzero"`
	IssuedAt      time.Time `json:"issued_at,omitzero"`
	RetiredAt     time.Time `json:"retired_at,omitzero"`
	RetiredReason string    `json:"retired_reason,omitempty"`
	TTLSeconds    int64     `json:"ttl_seconds"`
	Utilization   float64   `json:"utilization"`
	SeenOnChain   bool      `json:"seen_on_chain,omitempty"`
	// LastSeen is when a listing from Bee that showed the batch came back (by any instance
	// sharing the ledger). Only a listing begun after it may call the batch gone.
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// intent is a purchase written down before Bee is called, so a crash or timeout can never
// lose or double-buy it: the batch carrying Label is adopted when it shows up.
type intent struct {
	Label     string    `json:"label"`
	Depth     int       `json:"depth"`
	Amount    string    `json:"amount"`
	StartedAt time.Time `json:"started_at"`
	Abandoned bool      `json:"abandoned,omitempty"` // absent past the grace; still adoptable
}

// ledgerDoc is the whole ledger, stored as one JSON value so every write is atomic.
type ledgerDoc struct {
	Version    int         `json:"version"`
	Node       string      `json:"node"`
	Batches    []*record   `json:"batches"`
	Intents    []*intent   `json:"intents"`
	Operations []time.Time `json:"operations"` // purchases and top-ups, for the hourly cap
	// History is the keys of the history segments holding the issued and retired records
	// moved out of this document (history.go), oldest first; empty while there are none.
	History []string `json:"history,omitempty"`
	// Fence rises by one with every write; a writer stores only over the fence it locked
	// (ledgerlock.go). Omitted while zero, so older ledgers keep their checksum.
	Fence    uint64 `json:"fence,omitempty"`
	Checksum string `json:"checksum"`

	hist *history // History as loaded; shared and read-only
}

// ErrLedgerCorrupt: the stored ledger cannot be read. The pool stops spending.
var ErrLedgerCorrupt = errors.New("pool ledger is corrupt")

func ledgerKeys(nodeKey string) (key, lock string) {
	sum := sha256.Sum256([]byte(nodeKey))
	name := sanitize(nodeKey) + "-" + hex.EncodeToString(sum[:4])
	return "caddy-bee/pool/" + name + ".json", "caddy-bee/pool/" + name
}

func sanitize(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_")
}

func (d *ledgerDoc) checksum() string {
	c := *d
	c.Checksum = ""
	raw, _ := json.Marshal(c)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

func decodeLedger(raw []byte, key string) (*ledgerDoc, error) {
	var d ledgerDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%w: %s: %v; fix the file or move it away (the pool then starts empty and will NOT know the batches it paid for)", ErrLedgerCorrupt, key, err)
	}
	if d.Version != ledgerV1 {
		return nil, fmt.Errorf("%w: %s: unknown version %d; this caddy-bee reads version %d", ErrLedgerCorrupt, key, d.Version, ledgerV1)
	}
	if d.Checksum != d.checksum() {
		return nil, fmt.Errorf("%w: %s: checksum mismatch (edited or truncated); restore it or move it away", ErrLedgerCorrupt, key)
	}
	for _, r := range d.Batches {
		if _, ok := new(big.Int).SetString(r.Amount, 10); !ok && r.Amount != "" {
			return nil, fmt.Errorf("%w: %s: batch %s amount %q", ErrLedgerCorrupt, key, r.ID, r.Amount)
		}
	}
	return &d, nil
}

// encode sets the checksum and returns the stored form. The checksum covers the encoding
// with an empty checksum field, which is the last field: one Marshal serves for both.
func (d *ledgerDoc) encode() ([]byte, error) {
	d.Checksum = ""
	raw, err := appendLedger(make([]byte, 0, 512+400*len(d.Batches)), d)
	if err != nil {
		if raw, err = json.Marshal(d); err != nil { // json's own error, for the caller
			return nil, err
		}
	}
	sum := sha256.Sum256(raw)
	d.Checksum = hex.EncodeToString(sum[:])
	const emptyTail = `"checksum":""}`
	if !bytes.HasSuffix(raw, []byte(emptyTail)) {
		return json.Marshal(d) // not the expected layout: take the slow, sure way
	}
	out := make([]byte, 0, len(raw)+len(d.Checksum))
	out = append(out, raw[:len(raw)-len(emptyTail)]...)
	return append(out, `"checksum":"`+d.Checksum+`"}`...), nil
}

// deepCopy copies the document and every record and intent (they hold only values).
func (d *ledgerDoc) deepCopy() *ledgerDoc {
	if d == nil {
		return nil
	}
	c := *d
	if d.Batches != nil {
		c.Batches = make([]*record, len(d.Batches))
		for i, r := range d.Batches {
			rc := *r
			c.Batches[i] = &rc
		}
	}
	if d.Intents != nil {
		c.Intents = make([]*intent, len(d.Intents))
		for i, in := range d.Intents {
			ic := *in
			c.Intents[i] = &ic
		}
	}
	c.Operations = slices.Clone(d.Operations)
	c.History = slices.Clone(d.History)
	return &c
}

func (d *ledgerDoc) find(id string) *record {
	for _, r := range d.Batches {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (d *ledgerDoc) count(depth int, state State) int {
	n := 0
	for _, r := range d.Batches {
		if r.Depth == depth && r.State == state {
			n++
		}
	}
	return n
}

func (d *ledgerDoc) openIntents(depth int) int {
	n := 0
	for _, in := range d.Intents {
		if in.Depth == depth && !in.Abandoned {
			n++
		}
	}
	return n
}

func (d *ledgerDoc) operationsSince(t time.Time) int {
	n := 0
	for _, op := range d.Operations {
		if op.After(t) {
			n++
		}
	}
	return n
}

func (d *ledgerDoc) pruneOperations(before time.Time) {
	kept := d.Operations[:0]
	for _, op := range d.Operations {
		if op.After(before) {
			kept = append(kept, op)
		}
	}
	d.Operations = kept
}

// pruneHistory drops issued and retired records that left service before the cutoff.
func (d *ledgerDoc) pruneHistory(before time.Time) {
	kept := d.Batches[:0]
	for _, r := range d.Batches {
		gone := r.State == Issued && !r.IssuedAt.IsZero() && r.IssuedAt.Before(before) ||
			r.State == Retired && !r.RetiredAt.IsZero() && r.RetiredAt.Before(before)
		if !gone {
			kept = append(kept, r)
		}
	}
	d.Batches = kept
}

func (d *ledgerDoc) lastOperation() time.Time {
	var last time.Time
	for _, op := range d.Operations {
		if op.After(last) {
			last = op
		}
	}
	return last
}

// load reads the ledger; a missing one is a first run.
