package cache

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"go.uber.org/zap"
)

// Defaults and limits.
const (
	DefaultMemory int64 = 64 << 20
	// maxEntryCap bounds one entry: a body is held in memory while it is recorded and
	// verified, whichever tier it goes to.
	maxEntryCap int64 = 64 << 20
)

// Options configures a Cache.
type Options struct {
	Memory int64  // memory tier bound in bytes; <= 0: no memory tier
	Disk   int64  // disk tier bound in bytes; <= 0: no disk tier
	Dir    string // the disk tier's directory (required with Disk)
	// FS is the disk tier's file system; nil means the real one. Tests inject faults.
	FS       FS
	Logger   *zap.Logger
	Observer Observer
}

// Observer receives the cache's events, e.g. for Prometheus. Methods must be cheap.
type Observer interface {
	Hit(tier string, bytes int64)
	Miss()
	Admitted(tier string)
	Refused(reason string)
}

type nopObserver struct{}

func (nopObserver) Hit(string, int64) {}
func (nopObserver) Miss()             {}
func (nopObserver) Admitted(string)   {}
func (nopObserver) Refused(string)    {}

// Meta is what an entry keeps besides its body.
type Meta struct {
	Key    string      `json:"key"`
	Kind   Kind        `json:"kind"`
	Ref    string      `json:"ref"`
	Size   int64       `json:"size"`
	Header http.Header `json:"header"`
}

// keptHeaders are the answer headers an entry replays; everything else (Date, Last-Modified,
// CORS, hop-by-hop) is the gateway's or the moment's.
var keptHeaders = []string{"Content-Type", "Content-Disposition", "ETag"}

// memEntry is a memory-tier entry. body is never written after admission: readers share it.
type memEntry struct {
	meta Meta
	body []byte
}

// Cache is safe for concurrent use.
type Cache struct {
	opts     Options
	log      *zap.Logger
	obs      Observer
	mem      *otter.Cache[string, *memEntry] // nil: no memory tier
	disk     *diskTier                       // nil: no disk tier
	maxEntry atomic.Int64
	pending  *budget // bytes of bodies being recorded or verified
	door     *doorkeeper
	// recording holds the keys whose body is being recorded or verified (*pendingKey).
	recording sync.Map
	verifyQ   chan admission
	qmu       sync.RWMutex // offers (read) against Close closing verifyQ (write)
	closed    atomic.Bool
	wg        sync.WaitGroup

	hits, misses, saved atomic.Int64
	memHits, diskHits   atomic.Int64
	admitted, refused   atomic.Int64
	verifiedBytes       atomic.Int64 // bytes hashed for admission: its CPU cost
}

type admission struct {
	t    Target
	meta Meta
	body []byte
}

// New returns a cache; with a disk tier it rebuilds the index from Dir in the background.
func New(opts Options) (*Cache, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.FS == nil {
		opts.FS = osFS{}
	}
	// The queue is bounded by the recording budget, not by its slots.
	c := &Cache{opts: opts, log: opts.Logger, obs: opts.Observer, verifyQ: make(chan admission, 1024)}
	largest := max(opts.Memory, opts.Disk)
	c.door = newDoorkeeper(largest)
	c.maxEntry.Store(min(max(largest/4, 1), maxEntryCap))
	// Bodies being recorded or waiting for verification: a quarter of the memory tier (16 MiB to
	// 256 MiB), and always room for one largest entry.
	c.pending = newBudget(max(min(max(opts.Memory/4, 16<<20), 256<<20), c.maxEntry.Load()))
	if opts.Memory > 0 {
		mem, err := otter.New(&otter.Options[string, *memEntry]{
			MaximumWeight: uint64(opts.Memory),
			Weigher:       func(_ string, e *memEntry) uint32 { return weight(e.meta.Size) },
			OnDeletion: func(e otter.DeletionEvent[string, *memEntry]) {
				if e.Cause == otter.CauseOverflow && opts.Disk <= 0 { // the largest tier sets the bar
					c.door.evicted(e.Key, e.Value.meta.Size)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("memory tier: %w", err)
		}
		c.mem = mem
	}
	if opts.Disk > 0 {
		if opts.Dir == "" {
			return nil, errors.New("disk tier: no directory: set `dir <path>` in the cache block")
		}
		d, err := newDiskTier(opts.Dir, opts.Disk, opts.FS, c.log, c.door.evicted)
		if err != nil {
			return nil, err
		}
		c.disk = d
	}
	for range verifiers {
		c.wg.Add(1)
		go c.admitLoop()
	}
	return c, nil
}

// weight is an entry's charge to its tier: its body plus a little for its bookkeeping.
func weight(size int64) uint32 { return uint32(min(size+512, 1<<32-1)) }

// Close stops admissions; entries on disk stay for the next start.
func (c *Cache) Close() {
	c.qmu.Lock()
	if c.closed.Swap(true) {
		c.qmu.Unlock()
		return
	}
	close(c.verifyQ)
	c.qmu.Unlock()
	c.wg.Wait()
	if c.disk != nil {
		c.disk.close()
	}
	if c.mem != nil {
		c.mem.StopAllGoroutines()
	}
}

// Hit is a cached answer; Close it when served.
type Hit struct {
	Meta Meta
	Body ReadSeekCloser
	Tier string // "memory" or "disk"
}

// ReadSeekCloser is an entry's body.
type ReadSeekCloser interface {
	Read(p []byte) (int, error)
	Seek(offset int64, whence int) (int64, error)
	Close() error
}

// Get returns the entry for key, or false. A disk entry that cannot be opened or read as
// written is dropped and reported as a miss. Every call counts towards key's popularity,
// which decides whether a miss's answer is recorded for admission (doorkeeper.go).
func (c *Cache) Get(key string) (*Hit, bool) {
	c.door.sight(key)
	if c.mem != nil {
		if e, ok := c.mem.GetIfPresent(key); ok {
			return &Hit{Meta: e.meta, Body: newBytesBody(e.body), Tier: "memory"}, true
		}
	}
	if c.disk != nil {
		if h, ok := c.disk.get(key); ok {
			return h, true
		}
	}
	return nil, false
}

// Served records a hit of n body bytes (n Bee did not have to send) or a miss.
func (c *Cache) Served(tier string, n int64) {
	c.hits.Add(1)
	c.saved.Add(n)
	if tier == "disk" {
		c.diskHits.Add(1)
	} else {
		c.memHits.Add(1)
	}
	c.obs.Hit(tier, n)
}

// Missed records a request for an immutable target the cache did not have.
func (c *Cache) Missed() {
	c.misses.Add(1)
	c.obs.Miss()
}

// MaxEntry is the largest body the cache takes.
func (c *Cache) MaxEntry() int64 { return c.maxEntry.Load() }

// offer hands a completed, intact body to the admission goroutine; it returns false when
// the queue is full (the body's budget is then the caller's to release).
func (c *Cache) offer(a admission) bool {
	c.qmu.RLock()
	defer c.qmu.RUnlock()
	if c.closed.Load() {
		return false
	}
	select {
	case c.verifyQ <- a:
		return true
	default:
		return false
	}
}

// verifiers is how many bodies are hashed at once: BMT hashing runs at tens of MB/s per
// core, and an entry is a miss until it is verified.
var verifiers = min(2, runtime.GOMAXPROCS(0))

// admitLoop verifies offered bodies and admits those that hash to their address.
func (c *Cache) admitLoop() {
	defer c.wg.Done()
	for a := range c.verifyQ {
		c.admit(a)
		c.pending.release(a.meta.Size)
		c.settle(a.meta.Key)
	}
}

func (c *Cache) admit(a admission) {
	c.verifiedBytes.Add(a.meta.Size)
	if !verify(a.t, a.meta.Header.Get("ETag"), a.body) {
		c.refused.Add(1)
		c.obs.Refused("unverified")
		c.log.Warn("content cache refused an answer whose bytes do not hash to its reference",
			zap.String("key", a.meta.Key), zap.Int64("size", a.meta.Size))
		return
	}
	if c.closed.Load() {
		return
	}
	body := a.body[:len(a.body):len(a.body)] // recorded to the declared size: no copy
	if c.mem != nil {
		c.mem.Set(a.meta.Key, &memEntry{meta: a.meta, body: body})
		c.mem.CleanUp() // evict now: the bound holds after every admission
		c.obs.Admitted("memory")
	}
	if c.disk != nil {
		if err := c.disk.put(a.meta, body, &c.closed); err != nil {
			c.obs.Refused("disk_write")
			c.log.Warn("content cache could not write a disk entry; it stays out of the disk tier",
				zap.String("key", a.meta.Key), zap.Error(err))
		} else {
			c.obs.Admitted("disk")
		}
	}
	c.admitted.Add(1)
}

// Purge removes every entry of ref (all paths of a /bzz reference, its /bytes and /chunks
// entries) from both tiers and returns how many went. A request being served from a purged
// entry finishes with the bytes it started with, which hash to the reference.
func (c *Cache) Purge(ref string) int {
	ref = strings.ToLower(ref)
	n := 0
	if c.mem != nil {
		var keys []string
		for k, e := range c.mem.All() {
			if e.meta.Ref == ref {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			if _, ok := c.mem.Invalidate(k); ok {
				n++
			}
		}
	}
	if c.disk != nil {
		n += c.disk.purge(ref)
	}
	return n
}

// Stats is the cache's state for the API.
type Stats struct {
	Hits          int64     `json:"hits"`
	Misses        int64     `json:"misses"`
	HitRate       float64   `json:"hit_rate_percent"`
	BeeBytesSaved int64     `json:"bee_bytes_saved"`
	Admitted      int64     `json:"admitted"`
	Refused       int64     `json:"refused_unverified"`
	VerifiedBytes int64     `json:"verified_bytes"`
	MaxEntryBytes int64     `json:"max_entry_bytes"`
	Memory        TierStats `json:"memory"`
	Disk          TierStats `json:"disk"`
}

// TierStats describes one tier.
type TierStats struct {
	Enabled  bool  `json:"enabled"`
	Hits     int64 `json:"hits"`
	Entries  int   `json:"entries"`
	Bytes    int64 `json:"bytes"`
	MaxBytes int64 `json:"max_bytes"`
}

// Stats returns the counters and tier sizes.
func (c *Cache) Stats() Stats {
	s := Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), BeeBytesSaved: c.saved.Load(),
		Admitted: c.admitted.Load(), Refused: c.refused.Load(), MaxEntryBytes: c.maxEntry.Load(),
		VerifiedBytes: c.verifiedBytes.Load(),
	}
	if total := s.Hits + s.Misses; total > 0 {
		s.HitRate = float64(s.Hits) * 100 / float64(total)
	}
	if c.mem != nil {
		s.Memory = TierStats{Enabled: true, Hits: c.memHits.Load(), Entries: c.mem.EstimatedSize(),
			Bytes: int64(c.mem.WeightedSize()), MaxBytes: int64(c.mem.GetMaximum())}
	}
	if c.disk != nil {
		s.Disk = TierStats{Enabled: true, Hits: c.diskHits.Load(), Entries: c.disk.index.EstimatedSize(),
			Bytes: int64(c.disk.index.WeightedSize()), MaxBytes: int64(c.disk.index.GetMaximum())}
	}
	return s
}

// Resize applies new tier bounds to a cache a reload keeps (the tiers themselves, and the
// disk directory, are fixed when the cache is made).
func (c *Cache) Resize(memory, disk int64) {
	if c.mem != nil && memory > 0 {
		c.mem.SetMaximum(uint64(memory))
	}
	if c.disk != nil && disk > 0 {
		c.disk.index.SetMaximum(uint64(disk))
	}
	c.maxEntry.Store(min(max(max(memory, disk)/4, 1), maxEntryCap))
}

// budget bounds bytes held across goroutines.
type budget struct {
	limit int64
	used  atomic.Int64
}

func newBudget(limit int64) *budget { return &budget{limit: limit} }

func (b *budget) tryAcquire(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *budget) release(n int64) { b.used.Add(-n) }

// pendingKey is a key whose body is being recorded or verified.
type pendingKey struct {
	done    chan struct{} // closed when it is admitted or dropped
	offered atomic.Bool   // complete and waiting for verification
}

// settle ends a key's pending state and wakes whoever awaits it.
func (c *Cache) settle(key string) {
	if v, ok := c.recording.LoadAndDelete(key); ok {
		close(v.(*pendingKey).done)
	}
}

// AwaitVerification waits, at most wait, while a complete body for key is being verified,
// and reports whether there was one (the caller then looks again). A miss that would
// otherwise fetch the same bytes from Bee again waits for the hashing instead; what it
// then serves is verified.
func (c *Cache) AwaitVerification(ctx context.Context, key string, wait time.Duration) bool {
	v, ok := c.recording.Load(key)
	if !ok || !v.(*pendingKey).offered.Load() {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-v.(*pendingKey).done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}
