package pool

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// An upload the gateway cannot send again after Bee's 402 (its body is over the replay limit,
// its length is unknown, or it got no replay copy) would be cut by a bucket overflow. Such an
// upload goes only to a batch it overflows with at most ampleRisk; where none has that room,
// the pool answers "no batch now" (503 with Retry-After) and dilutes a batch until one has.

// Uploads are anonymous, and what one announces (its Content-Length) is only a claim: a
// dilution for room never raises a batch beyond one step over the largest configured depth
// (roomMaxDepth), so that no claim can make the pool buy more than twice the capacity the
// operator configured per batch. An upload that even a fresh batch of that depth would not take
// safely gets no such care: like a replayable one, it goes to a batch with room (Bee may
// answer 402; configure a larger depth for uploads that large).

// roomNeedTTL: a need for room no upload asked for again within this long is forgotten (a
// client told to retry asks again; one that gave up no longer needs the room).
const roomNeedTTL = 15 * time.Minute

// roomMaxDepth is the deepest a dilution for room may make a batch.
func roomMaxDepth(cfg Config) int {
	d := cfg.depths()
	if len(d) == 0 {
		return SmallDepth
	}
	return d[len(d)-1] + 1
}

// roomPossible: a fresh batch of roomMaxDepth takes an upload of n stamped bytes (-1: unknown)
// with at most ampleRisk.
func roomPossible(cfg Config, n int64) bool {
	return fitsUpload(emptyFill(roomMaxDepth(cfg)), n, cfg.UsageMax, false)
}

// dilutableActive: some active batch but exclude is below roomMaxDepth (it can be diluted for
// room).
func dilutableActive(doc *ledgerDoc, cfg Config, exclude string) bool {
	for _, r := range doc.Batches {
		if r.State == Active && r.ID != exclude && r.Depth < roomMaxDepth(cfg) {
			return true
		}
	}
	return false
}

// ActiveForUpload is ActiveForExcept for an upload whose caller knows whether it can send the
// body again after a 402 (replayable). One that cannot goes only to a batch it would not
// overflow (probability at most ampleRisk by the fill model), promoting a reserve batch that
// would take it; when no batch would, the answer is an *EmptyError (Is ErrEmpty) saying when
// to retry, and the pool dilutes a batch until one has the room. stamped is StampedBytes of
// the upload (-1: unknown); exclude a batch that refused it with an overflow ("": none).
func (p *Pool) ActiveForUpload(ctx context.Context, stamped int64, replayable bool, exclude string) (Batch, error) {
	return p.activeFor(ctx, stamped, exclude, replayable)
}

// sizeReplayable is what ActiveFor assumes without being told: an upload of at most
// replayableStamped stamped bytes can be sent again.
func sizeReplayable(n int64) bool { return n >= 0 && n <= replayableStamped }

// mustFitLocked: the upload of n stamped bytes needs a batch it does not overflow, the pool
// can tell (it has fill models), and a batch can be made to have the room. p.mu is held.
func (p *Pool) mustFitLocked(n int64, replayable bool) bool {
	return !replayable && p.bucketReaderLocked() != nil && roomPossible(p.cfg, n)
}

// injectDepthsLocked is the depths injection looks at: those of active batches a dilution for
// room raised beyond the configured ones (paid for already: filled first), then the configured
// ones, cheapest first. p.mu is held.
func (p *Pool) injectDepthsLocked(cfg Config, doc *ledgerDoc) []int {
	return append(extraActiveDepths(cfg, doc), p.injectOrderLocked(cfg.depths())...)
}

// extraActiveDepths lists, ascending, the depths of active batches that are not configured
// but that a dilution for room may have made (up to roomMaxDepth; a depth the operator
// removed from the configuration beyond that is left alone).
func extraActiveDepths(cfg Config, doc *ledgerDoc) []int {
	var out []int
	for _, r := range doc.Batches {
		if roomMade(cfg, r) && !slices.Contains(out, r.Depth) {
			out = append(out, r.Depth)
		}
	}
	slices.Sort(out)
	return out
}

// roomMade: r is an active batch of a depth not configured that a dilution for room may have
// made. It takes injected uploads and is topped up like those of configured depths.
func roomMade(cfg Config, r *record) bool {
	_, configured := cfg.Reserve[r.Depth]
	return !configured && r.State == Active && r.Depth <= roomMaxDepth(cfg)
}

// noRoom records that an upload of n stamped bytes found no batch it would not overflow and
// asks maintenance to make room; the error tells the caller when to try again.
func (p *Pool) noRoom(cfg Config, n int64) error {
	if n < 0 {
		n = unknownLengthStamped
	}
	k := chunksOf(n)
	p.mu.Lock()
	if p.deps.Clock.Now().Sub(p.roomNeedAt) > roomNeedTTL {
		p.roomNeed = 0
	}
	p.roomNeed, p.roomNeedAt = max(p.roomNeed, k), p.deps.Clock.Now()
	p.mu.Unlock()
	p.requestCheck()
	e := p.emptyError(0)
	e.Depth = firstDepth(cfg)
	e.Need = fmt.Sprintf("no batch has room for %d chunks without risking a bucket overflow, and the upload could not be sent again after one; "+
		"a batch is being diluted to make room", k)
	return e
}

// roomForLocked reports whether some active batch, or a fresh batch of a configured depth in
// reserve or on its way (a purchase under way), takes k chunks that must not overflow. p.mu
// is held.
func (p *Pool) roomForLocked(cfg Config, k int64) bool {
	n := k * chunkSize
	for _, r := range p.doc.Batches {
		if r.State == Active {
			if f := p.fillOfLocked(r); f != nil && fitsUpload(f, n, cfg.UsageMax, false) {
				return true
			}
		}
	}
	for _, d := range cfg.depths() {
		coming := p.doc.count(d, Reserve) + p.doc.count(d, Pending) + p.doc.openIntents(d)
		if coming > 0 && fitsUpload(emptyFill(d), n, cfg.UsageMax, false) {
			return true
		}
	}
	return false
}

// planRoomLocked: an upload that cannot be sent again found no batch with room (roomNeed
// chunks, asked for within roomNeedTTL). Raise the active batch for which that is cheapest to
// the smallest depth at which its fill takes the upload, and top it up to keep its TTL. Nil
// when there is room already (met: the need can be forgotten) or nothing to dilute. p.mu is
// held (read).
func (p *Pool) planRoomLocked(cfg Config, now time.Time) (plan *dilutePlan, met bool) {
	k := p.roomNeed
	if k == 0 || now.Sub(p.roomNeedAt) > roomNeedTTL || p.doc == nil {
		return nil, k != 0
	}
	if p.roomForLocked(cfg, k) {
		return nil, true
	}
	if p.price == nil || p.price.Sign() <= 0 {
		return nil, false
	}
	bt := p.blockTimeLocked()
	var best *dilutePlan
	var bestCost *big.Int
	for _, r := range p.doc.Batches {
		if r.State != Active || p.toppingUp[r.ID] || p.topupBackoff[r.ID].until.After(now) {
			continue
		}
		f := p.fillOfLocked(r)
		if f == nil {
			continue
		}
		for t := r.Depth + 1; t <= roomMaxDepth(cfg); t++ {
			g := f.clone()
			g.depth = t
			if !fitsUpload(g, k*chunkSize, cfg.UsageMax, false) {
				continue
			}
			restore := restoreAmount(p.price, r, uint(t-r.Depth), bt)
			cost := new(big.Int).Lsh(restore, uint(t))
			if best == nil || cost.Cmp(bestCost) < 0 {
				best, bestCost = &dilutePlan{r: r, target: t, restore: restore, room: true}, cost
			}
			break
		}
	}
	return best, false
}

// restoreAmount is the PLUR per chunk that, after r was diluted by steps, tops its TTL back to
// what it was (TTL = left / price x block time; without amountFor's 24 h floor).
func restoreAmount(price *big.Int, r *record, steps uint, bt time.Duration) *big.Int {
	remaining := new(big.Int).Mul(price, big.NewInt(int64(ttlOf(r.TTLSeconds)/bt)))
	return new(big.Int).Sub(remaining, new(big.Int).Rsh(remaining, steps))
}

// blockTimeLocked: the measured block time, else the configured one. p.mu is held.
func (p *Pool) blockTimeLocked() time.Duration {
	if p.measuredBlockTime > 0 {
		return p.measuredBlockTime
	}
	return p.cfg.BlockTime
}
