// Package pool keeps a reserve of postage batches bought ahead of time, hands them out,
// shares one per depth for injected uploads, and records everything it buys in a crash-safe
// ledger so that a paid batch is never lost or bought twice.
package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/swarmgate/caddy-bee/internal/bee"
)

// Bee is the part of Bee's API the pool calls; *bee.Client satisfies it.
type Bee interface {
	Stamps(ctx context.Context) ([]bee.Stamp, error)
	Stamp(ctx context.Context, id string) (bee.Stamp, error)
	BuyStamp(ctx context.Context, amount *big.Int, depth int, label string, immutable bool) (string, error)
	TopUp(ctx context.Context, id string, amount *big.Int) error
	ChainState(ctx context.Context) (bee.ChainState, error)
}

// Observer receives events for metrics; nil means none.
type Observer interface {
	Levels(depth, reserve, pending, active, target int)
	Purchase(depth int, result string, amountPLUR *big.Int)
	TopUp(depth int, result string, amountPLUR *big.Int)
	Acquire(depth int, result string)
	TimeUntilUsable(depth int, d time.Duration)
	Retired(depth int, reason string)
}

// Deps are the pool's collaborators.
type Deps struct {
	Bee      Bee
	Storage  Storage
	NodeKey  string // identifies the Bee node; the ledger is kept per node
	Clock    Clock
	Logger   *zap.Logger
	Observer Observer
}

// Batch is a batch as callers see it.
type Batch struct {
	ID          string
	Depth       int
	Label       string
	State       State
	TTL         time.Duration
	Utilization float64
	CreatedAt   time.Time
	Amount      *big.Int
}

// Errors callers act on.
var (
	ErrNotConfigured     = errors.New("depth not configured in the pool")
	ErrEmpty             = errors.New("no usable batch in the pool")
	ErrLedgerUnavailable = errors.New("pool ledger unavailable")
)

// EmptyError says no batch of Depth is usable now, and when one may be. Cause names what
// stops the pool from buying one sooner ("" when a purchase is under way or can start).
type EmptyError struct {
	Depth      int
	RetryAfter time.Duration
	Cause      string
	// Need says what the pool is doing to make room (room.go); "" otherwise.
	Need string
}

func (e *EmptyError) Error() string {
	msg := fmt.Sprintf("no usable batch of depth %d in the pool; one may be ready in %s", e.Depth, e.RetryAfter.Round(time.Second))
	if e.Cause != "" {
		msg += " (purchases blocked: " + e.Cause + ")"
	}
	if e.Need != "" {
		msg += " (" + e.Need + ")"
	}
	return msg
}

func (e *EmptyError) Is(target error) bool { return target == ErrEmpty }

// Pool is one node's stamp pool. Its methods are safe for concurrent use.
type Pool struct {
	deps      Deps
	key, lock string

	// updateMu serialises ledger writes in this process before the storage lock, so local
	// contention never waits on the storage's (polling) lock.
	updateMu sync.Mutex
	// lastRaw is the ledger as this process last read or wrote it, and lastDoc its decoded
	// form (a private copy): when the stored bytes are unchanged, the next update skips
	// decoding and verifying them again. Any other writer changes the bytes. Under updateMu.
	lastRaw []byte
	lastDoc *ledgerDoc
	hist    historyCache // the ledger's history segments as last read or written (history.go)
	mover   historyMover

	mu         sync.RWMutex
	cfg        Config
	doc        *ledgerDoc // last ledger read or written; nil until loaded
	ledgerErr  error      // set while the ledger cannot be read: no spending
	beeErr     error      // last sync failure: inventory unknown, no spending
	synced     bool       // a sync with Bee succeeded in this process
	lastCheck  time.Time
	nextCheck  time.Time
	localBytes map[string]int64 // bytes injected since the last sync, per batch
	// fills: the active batches' fill models (bucket histogram + local accounting), and
	// typicalChunks the moving average of an injected upload's chunks. See fill.go.
	fills         map[string]*fillState
	typicalChunks float64
	stampedBytes  int64    // injected since start
	spentPLUR     *big.Int // purchases, top-ups, dilutions since start
	// The block time measured from /chainstate (blocktime.go).
	chainFirst        chainSample
	measuredBlockTime time.Duration
	blockTimeWarning  string
	// The injected upload rate and the depth it makes cheapest (costmodel.go).
	rateSamples []rateSample
	uploadRate  float64
	injectDepth int
	toppingUp   map[string]bool // batches with a top-up in flight: not handed out meanwhile
	backoff     map[int]backoffState
	// topupBackoff: batches whose last top-up Bee refused or failed, by id.
	topupBackoff map[string]backoffState
	price        *big.Int
	stopsLogged  string // the spending stops last logged (their kinds), see logSpendingChanges

	// confirm shares one GET /stamps/{id} among concurrent uploads whose answer named the
	// same batch; rejectChecks keeps each outcome for rejectionRecheck.
	confirm      *singleflight.Group
	rejectChecks map[string]rejectionCheck

	// Request-driven wake-ups are rate-limited: see requestCheck.
	reqMu      sync.Mutex
	reqLast    time.Time
	reqPending bool

	gc *groupCommit // ledger writes: group commit under the fenced ledger lock

	owners ownerView // Owns' re-read of the stored ledger (owner.go)

	maintained atomic.Int64 // maintenance runs completed (tests wait on it)
	syncFailed bool         // the last maintenance run could not sync (p.mu)
	// roomNeed: chunks of an upload that cannot be replayed and found no batch it would not
	// overflow, last asked for at roomNeedAt; maintenance dilutes a batch for it (room.go).
	roomNeed   int64
	roomNeedAt time.Time

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	started bool
	cancel  context.CancelFunc
}

type backoffState struct {
	until time.Time
	delay time.Duration
	cause string // the failure, for /status
}

// New prepares a pool; Start runs it.
func New(cfg Config, deps Deps) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bee == nil || deps.Storage == nil {
		return nil, fmt.Errorf("pool needs a Bee client and a storage")
	}
	if deps.Clock == nil {
		deps.Clock = realClock{}
	}
	if deps.Logger == nil {
		deps.Logger = zap.NewNop()
	}
	key, lock := ledgerKeys(deps.NodeKey)
	return &Pool{
		deps: deps, key: key, lock: lock, cfg: cfg,
		localBytes: map[string]int64{}, fills: map[string]*fillState{}, spentPLUR: new(big.Int), backoff: map[int]backoffState{}, toppingUp: map[string]bool{},
		topupBackoff: map[string]backoffState{}, confirm: new(singleflight.Group), rejectChecks: map[string]rejectionCheck{},
		gc:   newGroupCommit(deps.Clock),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// Start loads the ledger and starts the purchaser goroutine.
func (p *Pool) Start() {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return
	}
	p.started = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.mu.Unlock()
	_ = p.update(ctx, func(*ledgerDoc) error { return nil }) // load, report corruption early
	go p.run(ctx)
}

// Stop ends the purchaser. A purchase in flight is abandoned; its intent is reconciled on the
// next start.
func (p *Pool) Stop() {
	p.mu.Lock()
	if !p.started {
		p.mu.Unlock()
		return
	}
	select {
	case <-p.stop:
		p.mu.Unlock()
		return
	default:
	}
	close(p.stop)
	p.cancel()
	p.gc.stop()
	p.mu.Unlock()
	<-p.done
	p.gc.committers.Wait()
}

// Reconfigure applies new options to the running pool: same goroutine, same ledger.
func (p *Pool) Reconfigure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	p.signal()
	return nil
}

func (p *Pool) config() Config {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.cfg
}

// signal wakes the purchaser without waiting.
func (p *Pool) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// loadLedger reads the stored ledger and returns a copy the caller may change. Bytes equal
// to the last ones this process read or wrote are not decoded and verified again.
func (p *Pool) loadLedger(ctx context.Context) (*ledgerDoc, error) {
	for reread := 0; ; reread++ {
		doc, raw, err := p.loadLedgerOnce(ctx)
		if !errors.Is(err, errSegmentMissing) || reread == 2 {
			return doc, err
		}
		// The segment may have been merged and deleted by another instance after the
		// ledger was read: a newer ledger no longer names it. The same ledger still
		// naming it is a lost segment.
		if again, lerr := p.deps.Storage.Load(ctx, p.key); lerr != nil || bytes.Equal(again, raw) {
			return nil, err
		}
	}
}

func (p *Pool) loadLedgerOnce(ctx context.Context) (*ledgerDoc, []byte, error) {
	raw, err := p.deps.Storage.Load(ctx, p.key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.lastRaw, p.lastDoc = nil, &ledgerDoc{Version: ledgerV1, Node: p.deps.NodeKey}
		return p.lastDoc.deepCopy(), nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("load pool ledger %s: %w", p.key, err)
	case p.lastDoc != nil && p.lastRaw != nil && bytes.Equal(raw, p.lastRaw):
		return p.lastDoc.deepCopy(), raw, nil
	}
	doc, err := decodeLedger(raw, p.key)
	if err == nil {
		err = p.attachHistory(ctx, doc)
	}
	if err != nil {
		p.lastRaw, p.lastDoc = nil, nil
		return nil, raw, err
	}
	p.lastRaw, p.lastDoc = raw, doc.deepCopy()
	return doc, raw, nil
}

func (p *Pool) remember(doc *ledgerDoc, err error) {
	p.mu.Lock()
	p.doc = doc
	p.ledgerErr = err
	cfg := p.cfg
	p.mu.Unlock()
	if o := p.deps.Observer; o != nil {
		for _, d := range cfg.depths() {
			o.Levels(d, doc.count(d, Reserve), doc.count(d, Pending)+doc.openIntents(d), doc.count(d, Active), cfg.Reserve[d])
		}
	}
}

func (p *Pool) spendingBlocked() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch {
	case p.ledgerErr != nil:
		return p.ledgerErr
	case p.beeErr != nil:
		return fmt.Errorf("inventory unknown: %w", p.beeErr)
	case !p.synced:
		return errors.New("inventory unknown: no successful sync with Bee yet")
	}
	return nil
}

func toBatch(r *record) Batch {
	amount, _ := new(big.Int).SetString(r.Amount, 10)
	return Batch{ID: r.ID, Depth: r.Depth, Label: r.Label, State: r.State,
		TTL: ttlOf(r.TTLSeconds), Utilization: r.Utilization, CreatedAt: r.BoughtAt, Amount: amount}
}

// Acquire hands a reserve batch of depth to a client for good, recorded as issued in the
// ledger before it returns. With fallback, a larger configured depth may serve.
func (p *Pool) Acquire(ctx context.Context, depth int, fallback bool) (Batch, bool, error) {
	cfg := p.config()
	if _, ok := cfg.Reserve[depth]; !ok {
		return Batch{}, false, ErrNotConfigured
	}
	var got *record
	// In place: the batch is picked before anything changes, and nothing changes without one.
	err := p.updateInPlace(context.WithoutCancel(ctx), func(doc *ledgerDoc) error {
		candidates := []int{depth}
		if fallback {
			for _, d := range cfg.depths() {
				if d > depth {
					candidates = append(candidates, d)
				}
			}
		}
		p.mu.RLock()
		busy := maps.Clone(p.toppingUp)
		p.mu.RUnlock()
		for _, d := range candidates {
			if r := pickReserve(doc, d, busy); r != nil {
				r.State, r.IssuedAt = Issued, p.deps.Clock.Now()
				got = r
				return nil
			}
		}
		return ErrEmpty
	})
	if errors.Is(err, ErrEmpty) {
		p.observeAcquire(depth, "empty")
		p.requestCheck()
		return Batch{}, false, p.emptyError(depth)
	}
	if err != nil {
		p.observeAcquire(depth, "error")
		return Batch{}, false, err
	}
	p.deps.Logger.Info("batch issued", zap.String("batch_id", got.ID), zap.Int("depth", got.Depth), zap.String("label", got.Label))
	p.observeAcquire(got.Depth, "ok")
	p.departed()
	return toBatch(got), got.Depth != depth, nil
}

func (p *Pool) observeAcquire(depth int, result string) {
	if p.deps.Observer != nil {
		p.deps.Observer.Acquire(depth, result)
	}
}

// departed: a batch left the reserve; replace it now unless the operator said not to.
func (p *Pool) departed() {
	if p.config().ImmediateReplenish {
		p.signal()
	}
}

// pickReserve: the reserve batch of depth with the longest TTL, skipping those in skip.
func pickReserve(doc *ledgerDoc, depth int, skip map[string]bool) *record {
	var best *record
	for _, r := range doc.Batches {
		if r.Depth == depth && r.State == Reserve && !skip[r.ID] && (best == nil || r.TTLSeconds > best.TTLSeconds) {
			best = r
		}
	}
	return best
}

// ActiveFor returns the shared batch an upload taking contentLength stamped bytes
// (StampedBytes of its length at its redundancy level; -1: unknown) should use: the smallest
// depth with an active batch that can take it. A depth without an active batch promotes a
// reserve batch first; so does a depth whose active batches lack the ample room an upload too
// large to replay needs (see fitsFill), when an empty batch would have it. An upload too large
// to replay is never given a batch it may overflow (see ActiveForUpload). The common case
// reads memory only.
func (p *Pool) ActiveFor(ctx context.Context, contentLength int64) (Batch, error) {
	return p.ActiveForExcept(ctx, contentLength, "")
}

// ActiveForExcept is ActiveFor for an upload that batch exclude refused with an overflow
// (RefusalOverflow): any active batch but that one, promoting a reserve batch if needed.
func (p *Pool) ActiveForExcept(ctx context.Context, contentLength int64, exclude string) (Batch, error) {
	return p.activeFor(ctx, contentLength, exclude, sizeReplayable(contentLength))
}

// activeFor is ActiveForUpload (room.go).
func (p *Pool) activeFor(ctx context.Context, contentLength int64, exclude string, replayable bool) (Batch, error) {
	cfg := p.config()
	p.mu.RLock()
	doc, ledgerErr := p.doc, p.ledgerErr
	if doc != nil && ledgerErr == nil {
	fast:
		for _, d := range p.injectDepthsLocked(cfg, doc) {
			actives := activesOf(doc, d, exclude)
			for _, r := range actives {
				if p.fitsLocked(r, contentLength, replayable) {
					b := toBatch(r)
					p.mu.RUnlock()
					return b, nil
				}
			}
			if doc.count(d, Reserve) > 0 && (len(actives) == 0 || p.emptyFitsLocked(d, contentLength, replayable)) {
				break fast // promote first (slow path)
			}
		}
	}
	p.mu.RUnlock()
	if ledgerErr != nil {
		return Batch{}, fmt.Errorf("%w: %v", ErrLedgerUnavailable, ledgerErr)
	}

	var got *record
	promoted, mustFit := false, false
	// In place: every error below is returned before a promotion, the only change.
	err := p.updateInPlace(context.WithoutCancel(ctx), func(doc *ledgerDoc) error {
		p.mu.RLock()
		defer p.mu.RUnlock()
		got, promoted = nil, false
		mustFit = p.mustFitLocked(contentLength, replayable)
		var largest *record
		for _, d := range p.injectDepthsLocked(cfg, doc) {
			actives := activesOf(doc, d, exclude)
			for _, r := range actives {
				largest = r
				if p.fitsLocked(r, contentLength, replayable) {
					got = r
					return nil
				}
			}
			if _, configured := cfg.Reserve[d]; !configured {
				continue // a depth a dilution made: its active batches only
			}
			// An upload that needs room promotes a batch that would not take it only when no
			// active batch can be diluted for it (room.go).
			if (len(actives) > 0 || mustFit && dilutableActive(doc, cfg, exclude)) && !p.emptyFitsLocked(d, contentLength, replayable) {
				continue
			}
			r := pickReserve(doc, d, nil)
			if r == nil {
				continue
			}
			r.State = Active
			promoted = true
			p.deps.Logger.Info("reserve batch promoted for injected uploads", zap.String("batch_id", r.ID), zap.Int("depth", d),
				zap.Int("active_at_depth", len(actives)+1))
			largest = r
			if p.fitsLocked(r, contentLength, replayable) {
				got = r
				return nil
			}
		}
		if mustFit && largest != nil {
			// An upload that cannot be sent again is never risked on a batch it may overflow
			// (a 402 would cut it): no batch now; maintenance makes room (room.go).
			if !promoted {
				return errNoChange
			}
			return nil
		}
		// Nothing is estimated to fit: try the largest. Bee has the last word (402).
		got = largest
		if got == nil && !promoted {
			return ErrEmpty
		}
		if !promoted {
			return errNoChange // nothing to store
		}
		return nil
	})
	if errors.Is(err, errNoChange) && (got != nil || mustFit) {
		err = nil
	}
	if err == nil && got == nil && mustFit {
		if promoted {
			p.departed()
		}
		return Batch{}, p.noRoom(cfg, contentLength)
	}
	if errors.Is(err, ErrEmpty) || (err == nil && got == nil) {
		p.requestCheck()
		e := p.emptyError(0)
		e.Depth = firstDepth(cfg)
		return Batch{}, e
	}
	if err != nil {
		return Batch{}, err
	}
	if promoted {
		p.departed()
	}
	return toBatch(got), nil
}

// emptyFitsLocked: whether a fresh batch of depth would take the upload where the active
// ones would not (only with the fill model; without it one active batch per depth).
func (p *Pool) emptyFitsLocked(depth int, n int64, replayable bool) bool {
	return p.bucketReaderLocked() != nil && fitsUpload(emptyFill(depth), n, p.cfg.UsageMax, replayable)
}

func firstDepth(cfg Config) int {
	d := cfg.depths()
	if len(d) == 0 {
		return SmallDepth
	}
	return d[0]
}

// activesOf lists depth's active batches but exclude, in ledger order.
func activesOf(doc *ledgerDoc, depth int, exclude string) []*record {
	var out []*record
	for _, r := range doc.Batches {
		if r.Depth == depth && r.State == Active && r.ID != exclude {
			out = append(out, r)
		}
	}
	return out
}

// fitsLocked estimates whether an upload taking n stamped bytes (StampedBytes) fits in r:
// from its fill model where there is one, else (no bucket reads) from Bee's last utilisation
// and what was injected since.
func (p *Pool) fitsLocked(r *record, n int64, replayable bool) bool {
	if f := p.fillOfLocked(r); f != nil {
		return fitsUpload(f, n, p.cfg.UsageMax, replayable)
	}
	if p.mustFitLocked(n, replayable) {
		return false // fill not read yet: no room can be shown
	}
	capacity := capacityBytes(r.Depth)
	used := int64(r.Utilization*float64(capacity)) + p.localBytes[r.ID]
	if n < 0 {
		n = 0
	}
	return used+n <= capacity
}

// RecordUpload notes stamped bytes (StampedBytes of the upload) injected into a batch since
// the last sync.
func (p *Pool) RecordUpload(id string, n int64) {
	p.mu.Lock()
	p.recordSpendLocked(n)
	if tracked, checkSoon := p.recordFillLocked(id, n); tracked {
		p.mu.Unlock()
		if checkSoon {
			p.requestCheck()
		}
		return
	}
	p.localBytes[id] += n
	var depth int
	var util float64
	if p.doc != nil {
		if r := p.doc.find(id); r != nil {
			depth, util = r.Depth, r.Utilization
		}
	}
	estimated := util + float64(p.localBytes[id])/float64(max(capacityBytes(max(depth, 17)), 1))
	usageMax := p.cfg.UsageMax
	p.mu.Unlock()
	if estimated >= usageMax*0.9 {
		p.requestCheck() // re-read utilisation from Bee soon
	}
}

// Retire takes a batch out of service for good (Bee refused it, or it is full or expired).
func (p *Pool) Retire(ctx context.Context, id, reason string) error {
	var depth int
	err := p.update(ctx, func(doc *ledgerDoc) error {
		r := doc.findAny(id) // an issued batch may be in the history
		if r == nil {
			return fmt.Errorf("batch %s is not in the pool", id)
		}
		if r.State == Retired || r.State == Issued {
			return errNoChange
		}
		p.retireRecord(r, reason)
		depth = r.Depth
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	_ = depth
	p.departed()
	return nil
}

var errNoChange = errors.New("no change")

func (p *Pool) retireRecord(r *record, reason string) {
	r.State, r.RetiredAt, r.RetiredReason = Retired, p.deps.Clock.Now(), reason
	p.deps.Logger.Warn("batch retired", zap.String("batch_id", r.ID), zap.Int("depth", r.Depth), zap.String("reason", reason))
	if p.deps.Observer != nil {
		p.deps.Observer.Retired(r.Depth, reasonCategory(reason))
	}
}

// reasonCategory keeps metric labels bounded.
func reasonCategory(reason string) string {
	for _, c := range []string{"402", "404", "422", "utilization", "capacity", "expired"} {
		if containsFold(reason, c) {
			return c
		}
	}
	return "other"
}

// Status is the pool as /status shows it.
type Status struct {
	ReserveConfig     map[int]int
	CurrentLevels     map[int]int
	Pending           map[int]int
	Active            map[int]ActiveStatus
	LowReserveWarning bool
	LastCheck         time.Time
	NextCheck         time.Time
	PurchasesLastHour int
	Errors            []string
	// ActiveBatches lists every active batch (a depth may have more than one: see ActiveFor);
	// Active shows the oldest per depth.
	ActiveBatches []ActiveStatus
	Spend         SpendStatus
	BlockTime     BlockTimeStatus
	// InjectDepth is the depth injection prefers (cheapest per stamped byte at
	// UploadRate, in stamped bytes per second); 0 until chosen.
	InjectDepth int
	UploadRate  float64
}

// ActiveStatus is one depth's shared batch.
type ActiveStatus struct {
	BatchID          string
	Depth            int
	UtilizationRatio float64
	TTLSeconds       int64
	// EffectiveFill is the share of the effective capacity (capacityBytes) stamped, and
	// CapacityLeftBytes the effective capacity left; both -1 while unknown (no fill model).
	EffectiveFill     float64
	CapacityLeftBytes int64
}

// Status reports levels, errors and timings.
func (p *Pool) Status() Status {
	p.mu.RLock()
	defer p.mu.RUnlock()
	st := Status{ReserveConfig: map[int]int{}, CurrentLevels: map[int]int{}, Pending: map[int]int{},
		Active: map[int]ActiveStatus{}, LastCheck: p.lastCheck, NextCheck: p.nextCheck, Errors: []string{},
		Spend: p.spendStatusLocked(), ActiveBatches: []ActiveStatus{}, InjectDepth: p.injectDepth, UploadRate: p.uploadRate,
		BlockTime: BlockTimeStatus{Configured: p.cfg.BlockTime, Measured: p.measuredBlockTime, Warning: p.blockTimeWarning}}
	for d, n := range p.cfg.Reserve {
		st.ReserveConfig[d] = n
	}
	for _, s := range p.spendingStopsLocked(p.deps.Clock.Now()) {
		st.Errors = append(st.Errors, s.String())
	}
	if busy := p.gc.busyError(); busy != "" {
		st.Errors = append(st.Errors, busy)
	}
	if p.doc == nil {
		return st
	}
	for _, d := range p.cfg.depths() {
		st.CurrentLevels[d] = p.doc.count(d, Reserve)
		if n := p.doc.count(d, Pending) + p.doc.openIntents(d); n > 0 {
			st.Pending[d] = n
		}
		if st.CurrentLevels[d] < p.cfg.Reserve[d] {
			st.LowReserveWarning = true
		}
		for i, r := range activesOf(p.doc, d, "") {
			a := p.activeStatusLocked(r)
			if i == 0 {
				st.Active[d] = a
			}
			st.ActiveBatches = append(st.ActiveBatches, a)
		}
	}
	for _, d := range extraActiveDepths(p.cfg, p.doc) { // diluted for room (room.go)
		for _, r := range activesOf(p.doc, d, "") {
			st.ActiveBatches = append(st.ActiveBatches, p.activeStatusLocked(r))
		}
	}
	st.PurchasesLastHour = p.doc.operationsSince(p.deps.Clock.Now().Add(-time.Hour))
	return st
}

// activeStatusLocked is an active batch as /status shows it. p.mu is held (read).
func (p *Pool) activeStatusLocked(r *record) ActiveStatus {
	a := ActiveStatus{BatchID: r.ID, Depth: r.Depth, UtilizationRatio: r.Utilization, TTLSeconds: r.TTLSeconds,
		EffectiveFill: -1, CapacityLeftBytes: -1}
	if f := p.fillOfLocked(r); f != nil {
		a.EffectiveFill, a.CapacityLeftBytes = f.fraction(), f.leftBytes()
	}
	return a
}

// Available lists the reserve batches.
func (p *Pool) Available() []Batch {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := []Batch{}
	if p.doc == nil {
		return out
	}
	for _, r := range p.doc.Batches {
		if r.State == Reserve {
			out = append(out, toBatch(r))
		}
	}
	return out
}

// MaintenanceRuns counts the maintenance runs completed. To see the pool's reaction to the
// present state, trigger a check and wait until this has grown by two: the run under way,
// then one begun after the trigger.
func (p *Pool) MaintenanceRuns() int64 { return p.maintained.Load() }

// TriggerCheck schedules maintenance now, in the background.
func (p *Pool) TriggerCheck() time.Time {
	p.signal()
	return p.deps.Clock.Now()
}

// HasUsable reports whether some batch (reserve or active) can take uploads now.
func (p *Pool) HasUsable() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.doc == nil {
		return false
	}
	for _, r := range p.doc.Batches {
		if (r.State == Reserve || r.State == Active) && p.cfg.Reserve != nil {
			if _, ok := p.cfg.Reserve[r.Depth]; ok {
				return true
			}
		}
	}
	return false
}

// RetryAfter estimates when a batch of depth (0: any) will be usable: soon after a
// purchase under way, or only after whatever stops purchases now has ended.
func (p *Pool) RetryAfter(depth int) time.Duration {
	wait, _ := p.retryAfter(depth)
	return wait
}

func (p *Pool) retryAfter(depth int) (time.Duration, string) {
	cfg := p.config()
	// A new batch is usable ~14 blocks after it is mined; add one check's latency.
	p.mu.RLock()
	poll := p.pollIntervalLocked(cfg)
	p.mu.RUnlock()
	est := max(15*p.blockTime()+poll, time.Second)
	now := p.deps.Clock.Now()
	p.mu.RLock()
	underWay := false
	if p.doc != nil {
		for _, d := range cfg.depths() {
			if (depth == 0 || d == depth) && p.doc.count(d, Pending)+p.doc.openIntents(d) > 0 {
				underWay = true
			}
		}
	}
	p.mu.RUnlock()
	if underWay {
		return est, ""
	}
	until, cause := p.purchaseBlockedUntil(depth, now)
	if until.After(now) {
		return until.Sub(now) + est, cause
	}
	return est, ""
}

func (p *Pool) emptyError(depth int) *EmptyError {
	wait, cause := p.retryAfter(depth)
	return &EmptyError{Depth: depth, RetryAfter: wait, Cause: cause}
}

// requestCheck asks for maintenance on behalf of a request (an empty pool, a batch filling
// up). However many requests ask, maintenance (and so Bee) sees at most one such wake-up
// per RequestCheckGap; a wake-up asked for within the gap is deferred, never lost.
func (p *Pool) requestCheck() {
	gap := p.config().RequestCheckGap
	p.reqMu.Lock()
	defer p.reqMu.Unlock()
	if p.reqPending {
		return
	}
	now := p.deps.Clock.Now()
	if wait := gap - now.Sub(p.reqLast); wait > 0 {
		p.reqPending = true
		p.deps.Clock.AfterFunc(wait, func() {
			p.reqMu.Lock()
			p.reqPending, p.reqLast = false, p.deps.Clock.Now()
			p.reqMu.Unlock()
			p.signal()
		})
		return
	}
	p.reqLast = now
	p.signal()
}
