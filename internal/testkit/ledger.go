package testkit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Ledger is a pool ledger as the gateway stores it (internal/pool/ledger.go), the fields
// tests read: which batches it knows in which state, and the purchases still open.
type Ledger struct {
	Node    string         `json:"node"`
	Batches []LedgerBatch  `json:"batches"`
	Intents []LedgerIntent `json:"intents"`
	// History is the storage keys of the segments holding the issued and retired batches
	// moved out of the ledger (internal/pool/history.go); ReadLedger adds them to Batches.
	History []string `json:"history"`
}

// LedgerBatch is one batch the pool bought.
type LedgerBatch struct {
	ID            string `json:"id"`
	Label         string `json:"label"`
	Depth         int    `json:"depth"`
	State         string `json:"state"`
	RetiredReason string `json:"retired_reason"`
}

// LedgerIntent is a purchase written down before Bee was called.
type LedgerIntent struct {
	Label string `json:"label"`
	// Abandoned: no longer counted as pending (never on the chain by its purchase timeout and
	// a few blocks); kept so a batch that appears late is still adopted.
	Abandoned bool `json:"abandoned"`
}

// LedgerFiles are the ledger files (one per Bee node) in a file_system storage directory.
func LedgerFiles(storage string) []string {
	files, _ := filepath.Glob(filepath.Join(storage, "caddy-bee", "pool", "*.json"))
	return files
}

// ReadLedger decodes a ledger file; raw is the file as stored.
func ReadLedger(path string) (doc Ledger, raw []byte, err error) {
	raw, err = os.ReadFile(path)
	if err != nil {
		return Ledger{}, nil, err
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Ledger{}, raw, fmt.Errorf("ledger %s is not valid JSON: %w", path, err)
	}
	known := map[string]bool{}
	for _, b := range doc.Batches {
		known[b.ID] = true
	}
	// path is <storage>/caddy-bee/pool/<name>.json; segment keys are relative to <storage>.
	// The ledger's copy of a batch wins, then the later segment's.
	for i := len(doc.History) - 1; i >= 0; i-- {
		hpath := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(path))), filepath.FromSlash(doc.History[i]))
		hraw, err := os.ReadFile(hpath)
		if err != nil {
			return Ledger{}, raw, fmt.Errorf("ledger %s names its history segment %s: %w", path, doc.History[i], err)
		}
		var seg Ledger
		if err := json.Unmarshal(hraw, &seg); err != nil {
			return Ledger{}, raw, fmt.Errorf("ledger history %s is not valid JSON: %w", hpath, err)
		}
		for _, b := range seg.Batches {
			if !known[b.ID] {
				known[b.ID] = true
				doc.Batches = append(doc.Batches, b)
			}
		}
	}
	return doc, raw, nil
}

// ReadOnlyLedger decodes the single ledger of a storage directory (a gateway with one node).
func ReadOnlyLedger(storage string) (doc Ledger, raw []byte, err error) {
	files := LedgerFiles(storage)
	if len(files) != 1 {
		return Ledger{}, nil, fmt.Errorf("want one ledger file in %s, found %v", storage, files)
	}
	return ReadLedger(files[0])
}
