package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
)

// acquireClients is the concurrency of the acquire target (p99 < 5 ms at 16
// concurrent clients).
const acquireClients = 16

type acquireResult struct {
	Summary     loadgen.Summary     // sequential: one client, each acquire against a full reserve
	Replacement loadgen.Percentiles // acquire sent -> the simulator sees the replacement purchase
	Missed      int                 // replacements not seen within 5 s

	Concurrent loadgen.Summary // acquireClients clients at once, in waves of one reserve each
	Waves      int
	// LedgerWrites is how often B's ledger was written (its fence rose) while the concurrent
	// waves' acquires were in flight: the acquires' commits plus any replacement purchase's
	// bookkeeping that ran meanwhile.
	LedgerWrites int64
	// LedgerBytes is the ledger's size after the waves: every write stores (and syncs) it
	// whole, issued batches included for HistoryRetention.
	LedgerBytes int64
}

// WritesPerAcquire is the ledger writes per answered concurrent acquire (0: not measured).
func (a acquireResult) WritesPerAcquire() float64 {
	if a.Concurrent.OK() == 0 || a.LedgerWrites < 0 {
		return 0
	}
	return float64(a.LedgerWrites) / float64(a.Concurrent.OK())
}

func (bn *bench) acquire() (acquireResult, error) {
	var out acquireResult
	if err := bn.acquireSequential(&out); err != nil {
		return out, err
	}
	if err := bn.acquireConcurrent(&out); err != nil {
		return out, err
	}
	return out, nil
}

// acquireConcurrent: acquireClients clients acquire over HTTP at once, in waves of exactly the
// reserve (so every acquire finds a batch), the reserve refilled between waves (a purchase
// is usable after 14 simulated blocks, under a second here). The first answers of a wave meet
// the replacement purchases' ledger writes, as they would in production.
func (bn *bench) acquireConcurrent(out *acquireResult) error {
	total, wave := bn.opts.concurrentAcquires, bn.opts.reserve
	if total <= 0 {
		return nil
	}
	client := loadgen.NewClient(acquireClients)
	defer client.CloseIdleConnections()
	var profiled chan error
	if bn.b.admin != 0 && bn.opts.acquireProfile != "" {
		profiled = make(chan error, 1)
		go func() { profiled <- fetchProfile(bn.b.admin, bn.opts.acquireProfile) }()
	}
	var res []loadgen.Result
	for len(res) < total {
		if err := bn.waitReserve(); err != nil {
			return err
		}
		n := min(wave, total-len(res))
		fence0, err := bn.ledgerFence()
		if err != nil {
			return err
		}
		got, _, err := loadgen.Run(bn.ctx, loadgen.Plan{
			Concurrency: acquireClients, Total: n, StartTogether: true, Client: client,
			Next: func(int) loadgen.Request { return bn.acquireRequest() },
		})
		if err != nil {
			return err
		}
		fence1, err := bn.ledgerFence()
		if err != nil {
			return err
		}
		out.LedgerWrites += int64(fence1 - fence0)
		res = append(res, got...)
		out.Waves++
		if out.Waves%8 == 0 {
			bn.log("acquire x %d clients: %d/%d", acquireClients, len(res), total)
		}
	}
	out.LedgerBytes = bn.ledgerBytes()
	if profiled != nil {
		if err := <-profiled; err != nil {
			bn.log("acquire: CPU profile: %v", err)
		} else {
			bn.log("acquire: CPU profile of B's first %v of concurrent acquires in %s", zipfProfileTime, bn.opts.acquireProfile)
		}
	}
	s, err := loadgen.Summarize(res, 0)
	if err != nil {
		return err
	}
	out.Concurrent = s
	bn.log("acquire x %d clients (%d waves of %d): p50 %v p90 %v p99 %v max %v, %s; %d ledger writes (%.2f per acquire), ledger %s",
		acquireClients, out.Waves, wave, s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max, s.StatusLine(),
		out.LedgerWrites, out.WritesPerAcquire(), human(out.LedgerBytes))
	return nil
}

// acquireSequential: one client, each acquire against a full reserve, and the time until the
// simulator sees the replacement purchase.
func (bn *bench) acquireSequential(out *acquireResult) error {
	client := loadgen.NewClient(1)
	defer client.CloseIdleConnections()
	var res []loadgen.Result
	var repl []time.Duration
	for i := range bn.opts.acquires {
		if err := bn.ctx.Err(); err != nil {
			return err
		}
		// Each acquire meets a full reserve, and the previous replacement's bookkeeping (and
		// this harness's polling) is out of the way.
		if err := bn.waitReserve(); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		before, err := bn.sim.Stats()
		if err != nil {
			return err
		}
		began := time.Now()
		r := loadgen.Do(bn.ctx, client, bn.acquireRequest())
		res = append(res, r)
		if r.Err == nil && r.Status == http.StatusOK {
			seen := false
			for time.Since(began) < 5*time.Second {
				st, err := bn.sim.Stats()
				if err != nil {
					return err
				}
				if st.Requests["POST stamps"] > before.Requests["POST stamps"] {
					repl = append(repl, time.Since(began))
					seen = true
					break
				}
				time.Sleep(200 * time.Microsecond)
			}
			if !seen {
				out.Missed++
			}
		}
		if i%10 == 9 {
			bn.log("acquire %d/%d", i+1, bn.opts.acquires)
		}
	}
	if len(res) == 0 {
		return nil
	}
	s, err := loadgen.Summarize(res, 0)
	if err != nil {
		return err
	}
	out.Summary, out.Replacement = s, loadgen.PercentilesOf(repl)
	bn.log("acquire (sequential): p50 %v p99 %v max %v, %s; replacement purchase seen p50 %v p99 %v (missed %d)",
		s.Latency.P50, s.Latency.P99, s.Latency.Max, s.StatusLine(), out.Replacement.P50, out.Replacement.P99, out.Missed)
	return nil
}

// ledgerFence reads the fence of B's pool ledger from its file storage: every ledger write
// raises it by one.
func (bn *bench) ledgerFence() (uint64, error) {
	var err error
	for range 20 {
		var fence uint64
		if fence, err = bn.readLedgerFence(); err == nil {
			return fence, nil
		}
		time.Sleep(5 * time.Millisecond) // a store in progress
	}
	return 0, err
}

// ledgerBytes is the size of B's largest pool ledger file (0: none found).
func (bn *bench) ledgerBytes() int64 {
	files, _ := filepath.Glob(filepath.Join(bn.bStorage, "caddy-bee", "pool", "*.json"))
	var size int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			size = max(size, st.Size())
		}
	}
	return size
}

func (bn *bench) readLedgerFence() (uint64, error) {
	files, err := filepath.Glob(filepath.Join(bn.bStorage, "caddy-bee", "pool", "*.json"))
	if err != nil {
		return 0, err
	}
	var fence uint64
	found := false
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue // replaced meanwhile (written by rename): the next read sees it
		}
		var doc struct {
			Fence *uint64 `json:"fence"`
		}
		if json.Unmarshal(raw, &doc) == nil && doc.Fence != nil {
			fence, found = max(fence, *doc.Fence), true
		}
	}
	if !found {
		return 0, fmt.Errorf("no pool ledger with a fence under %s", bn.bStorage)
	}
	return fence, nil
}
