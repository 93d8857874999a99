package pool

import (
	"context"
	"fmt"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/replay"
	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// BucketReader is the part of Bee's API that tells a batch's real fill; *bee.Client has it.
// A Bee without it (a test double) keeps the older rule: retire on Bee's utilisation, which
// is the fullest bucket's.
type BucketReader interface {
	Buckets(ctx context.Context, id string) (bee.Buckets, error)
}

const (
	// retireRisk: an active batch retires once the next typical upload would more likely
	// than not overflow one of its buckets (Bee's 402). Below that, a 402 costs a replay.
	retireRisk = 0.5
	// ampleRisk: an upload too large to replay goes only to a batch it overflows with less
	// than this chance, so that a 402 does not cut it.
	ampleRisk = 0.001
	// defaultTypicalChunks is the typical upload (256 KiB) until uploads were seen.
	defaultTypicalChunks = 64
	// unknownLengthStamped: an upload without a length (chunked) cannot be replayed once
	// over 1 MiB; it is given the room a 16 MiB upload would need.
	unknownLengthStamped = 16 << 20
)

// replayableStamped: above this many stamped bytes an upload's body may be over replay.Limit,
// so that the gateway cannot send it again after a 402. The pool sees stamped bytes only, so
// this is replay.Limit at redundancy level 0, the fewest stamped bytes for a body that size:
// a redundant upload just under the limit is treated as too large (it then needs ample
// room), never the other way round.
var replayableStamped = StampedBytes(replay.Limit, swarm.LevelNone)

// fillState is an active batch's fill: the bucket histogram of the last poll, with the
// chunks recorded since folded in.
type fillState struct {
	fill         *bucketFill
	polledChunks float64 // fill.chunks right after the last poll
	polledAt     time.Time
}

func (p *Pool) bucketReader() BucketReader {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.bucketReaderLocked()
}

// bucketReaderLocked: p.mu is held.
func (p *Pool) bucketReaderLocked() BucketReader {
	if p.cfg.LegacySpend {
		return nil
	}
	br, _ := p.deps.Bee.(BucketReader)
	return br
}

// fillOfLocked is r's fill model, or nil when the pool has none (no BucketReader, or a used
// batch not polled yet). p.mu is held.
func (p *Pool) fillOfLocked(r *record) *bucketFill {
	if st := p.fills[r.ID]; st != nil {
		return st.fill
	}
	if p.bucketReaderLocked() != nil && r.Utilization == 0 && p.localBytes[r.ID] == 0 {
		return emptyFill(r.Depth) // nothing stamped yet: no need to ask
	}
	return nil
}

// fitsFill is fitsUpload for an upload whose size alone says whether it can be replayed.
func fitsFill(f *bucketFill, n int64, usageMax float64) bool {
	return fitsUpload(f, n, usageMax, sizeReplayable(n))
}

// fitsUpload decides whether an upload of n stamped bytes (-1: unknown) should go to a batch
// whose fill is f. One the gateway can replay after a 402 may go wherever the batch is below
// usage_max and the upload more likely fits than not; any other needs ample room.
func fitsUpload(f *bucketFill, n int64, usageMax float64, replayable bool) bool {
	if f.fraction() >= usageMax {
		return false
	}
	if replayable && n >= 0 {
		return f.overflowProb(chunksOf(n)) < retireRisk
	}
	if n < 0 {
		n = unknownLengthStamped
	}
	k := chunksOf(n)
	return f.chunks+float64(k) <= usageMax*effectiveChunks(f.depth) && f.overflowProb(k) <= ampleRisk
}

func chunksOf(n int64) int64 { return (n + chunkSize - 1) / chunkSize }

// retireDueLocked says why an active batch with fill f should retire ("" while it should
// not): it reached usage_max of its effective capacity, or the next typical upload would
// likely overflow a bucket.
func (p *Pool) retireDueLocked(f *bucketFill, usageMax float64) string {
	if frac := f.fraction(); frac >= usageMax {
		return fmt.Sprintf("capacity: %.0f%% of the effective capacity stamped, usage_max %.2f", 100*frac, usageMax)
	}
	typical := int64(p.typicalChunksLocked())
	if risk := f.overflowProb(typical); risk >= retireRisk {
		return fmt.Sprintf("capacity: a typical upload (%d chunks) would overflow a bucket with probability %.2f (%.0f%% of the effective capacity stamped)",
			typical, risk, 100*f.fraction())
	}
	return ""
}

// typicalChunksLocked is the typical injected upload in chunks (defaultTypicalChunks until
// uploads were seen).
func (p *Pool) typicalChunksLocked() float64 {
	if p.typicalChunks <= 0 {
		return defaultTypicalChunks
	}
	return p.typicalChunks
}

// recordFillLocked folds an upload of n stamped bytes into id's fill and the typical upload
// size; it reports whether maintenance should look at the batch soon.
func (p *Pool) recordFillLocked(id string, n int64) (tracked, checkSoon bool) {
	k := float64(chunksOf(n))
	// A geometric moving average over ~16 uploads: one huge upload among small ones moves
	// it a little, not to its own size.
	logTypical := math.Log(p.typicalChunksLocked())
	p.typicalChunks = math.Exp(logTypical + (math.Log(max(k, 1))-logTypical)/16)
	st := p.fills[id]
	if st == nil {
		if p.doc == nil || p.bucketReaderLocked() == nil {
			return false, false
		}
		r := p.doc.find(id)
		if r == nil || r.Utilization != 0 || p.localBytes[id] != 0 {
			return false, false
		}
		st = &fillState{fill: emptyFill(r.Depth), polledAt: p.deps.Clock.Now()}
		p.fills[id] = st
	}
	st.fill.add(k)
	return true, p.retireDueLocked(st.fill, p.cfg.UsageMax) != "" || pollDue(st, p.cfg.UsageMax, p.deps.Clock.Now())
}

// minPollGap: a batch's buckets (a few MB of JSON) are read at most this often to follow
// its fill; the read that confirms a retirement is not bound by it.
const minPollGap = 30 * time.Second

// pollDue: Bee's buckets are read again after a tenth of the effective capacity was stamped
// since the last read, after a twentieth once the batch is half way to usage_max, and not
// within minPollGap of the last read. Between reads the local estimate stands (exact for
// this gateway's uploads of new content; reads add other writers and duplicates).
func pollDue(st *fillState, usageMax float64, now time.Time) bool {
	if now.Sub(st.polledAt) < minPollGap {
		return false
	}
	since := (st.fill.chunks - st.polledChunks) / effectiveChunks(st.fill.depth)
	if st.fill.fraction() >= usageMax/2 {
		return since >= 0.05
	}
	return since >= 0.1
}

// refreshFills reads the buckets of the active batches whose local estimate is due for a
// check (or unknown), outside the ledger lock. Errors keep the local estimate.
func (p *Pool) refreshFills(ctx context.Context, stamps map[string]bee.Stamp) {
	br := p.bucketReader()
	if br == nil {
		return
	}
	cfg := p.config()
	type job struct {
		id    string
		depth int
	}
	var jobs []job
	p.mu.Lock()
	if p.doc != nil {
		for _, r := range p.doc.Batches {
			if r.State != Active {
				continue
			}
			s, listed := stamps[r.ID]
			st := p.fills[r.ID]
			switch {
			case !listed:
			case st == nil && s.Utilization == 0 && p.localBytes[r.ID] == 0:
				p.fills[r.ID] = &fillState{fill: emptyFill(r.Depth), polledAt: p.deps.Clock.Now()}
			case st == nil || pollDue(st, cfg.UsageMax, p.deps.Clock.Now()) ||
				st.fill.chunks > st.polledChunks && p.retireDueLocked(st.fill, cfg.UsageMax) != "" ||
				// Bee's fullest bucket is full where the model expects none: another writer
				// (a second gateway on this ledger, a client with the id) filled it.
				s.Utilization >= bucketCapacity(r.Depth) && st.fill.hist[bucketCapacity(st.fill.depth)] < 0.5:
				jobs = append(jobs, job{r.ID, r.Depth})
			}
		}
	}
	p.mu.Unlock()
	for _, j := range jobs {
		readCtx, cancel := p.withTimeout(ctx, 30*time.Second)
		b, err := br.Buckets(readCtx, j.id)
		cancel()
		if err != nil {
			p.deps.Logger.Debug("could not read a batch's buckets; keeping the local estimate", zap.String("batch_id", j.id), zap.Error(err))
			continue
		}
		depth := b.Depth
		if depth < 17 {
			depth = j.depth
		}
		f := newBucketFill(depth, b.Collisions)
		p.mu.Lock()
		p.fills[j.id] = &fillState{fill: f, polledChunks: f.chunks, polledAt: p.deps.Clock.Now()}
		p.localBytes[j.id] = 0
		p.mu.Unlock()
		if o, ok := p.deps.Observer.(FillObserver); ok {
			o.BucketPoll(j.depth)
		}
	}
}

// overflowRetireDue reads id's buckets now (after Bee's 402) and says whether the active
// batch should retire (why != ""); tracked is false when the pool keeps no fill model for
// it (no BucketReader, not active, or Bee did not answer), and Bee's utilisation decides.
func (p *Pool) overflowRetireDue(ctx context.Context, id string) (why string, tracked bool) {
	br := p.bucketReader()
	if br == nil {
		return "", false
	}
	p.mu.RLock()
	var r *record
	if p.doc != nil {
		r = p.doc.find(id)
	}
	p.mu.RUnlock()
	if r == nil || r.State != Active {
		return "", false
	}
	b, err := br.Buckets(ctx, id)
	if err != nil {
		return "", false
	}
	f := newBucketFill(r.Depth, b.Collisions)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fills[id] = &fillState{fill: f, polledChunks: f.chunks, polledAt: p.deps.Clock.Now()}
	return p.retireDueLocked(f, p.cfg.UsageMax), true
}

// FillObserver is an optional Observer extension for the fill model.
type FillObserver interface {
	BucketPoll(depth int)
}

// forgetFills drops the models of batches no longer active.
func (p *Pool) forgetFillsLocked() {
	for id := range p.fills {
		r := p.doc.find(id)
		if r == nil || r.State != Active {
			delete(p.fills, id)
		}
	}
}
