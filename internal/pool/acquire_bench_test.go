package pool

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLedgerUpdate is the pool's bookkeeping for one acquire (load, decode unless
// unchanged, change, checksum, encode, store), without Bee or locks, on a ledger of n
// records: what an acquire costs besides the storage's own lock and fsync.
func BenchmarkLedgerUpdate(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			st := fileStorage{dir: b.TempDir()}
			doc := &ledgerDoc{Version: ledgerV1, Node: "http://bee"}
			for i := range n {
				doc.Batches = append(doc.Batches, &record{ID: fmt.Sprintf("%064x", i), Label: fmt.Sprintf("caddy-bee-17-%012x", i),
					Depth: 17, State: Issued, Amount: "41472000000", BoughtAt: time.Now(), IssuedAt: time.Now()})
			}
			key, _ := ledgerKeys("http://bee")
			raw, err := doc.encode()
			if err != nil {
				b.Fatal(err)
			}
			if err := st.Store(context.Background(), key, raw); err != nil {
				b.Fatal(err)
			}
			p := &Pool{key: key, deps: Deps{Storage: st, NodeKey: "http://bee"}}
			b.ResetTimer()
			for range b.N {
				d, err := p.loadLedger(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				d.Batches[0].State = Issued
				raw, err := d.encode()
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Store(context.Background(), key, raw); err != nil {
					b.Fatal(err)
				}
				p.lastRaw, p.lastDoc = raw, d.deepCopy()
			}
		})
	}
}

// BenchmarkAcquire is 16 concurrent clients acquiring from a pool whose reserve never runs
// dry (each acquire's batch is put back in the same group), on the directory storage with
// O_EXCL lock files: the latency of the group commit, reported as p50/p99 per acquire.
// storage=fsync syncs lock files and values like Caddy's file storage (two fsyncs per write,
// so it measures the disk as much as the pool); storage=nosync leaves them to the kernel;
// storage=memory has no file system at all: the pool's own cost. issued=N starts the ledger
// with N batches issued earlier (kept for HistoryRetention, 30 days): every write carries them.
func BenchmarkAcquire(b *testing.B) {
	for _, issued := range []int{0, 1000} {
		for _, sync := range []bool{true, false} {
			name := fmt.Sprintf("issued=%d/storage=nosync", issued)
			if sync {
				name = fmt.Sprintf("issued=%d/storage=fsync", issued)
			}
			b.Run(name, func(b *testing.B) {
				st := syncedFileStorage{fileStorage{dir: b.TempDir()}, new(atomic.Int64), sync}
				benchmarkAcquire(b, st, func() int64 { return st.count.Load() }, issued)
			})
		}
		b.Run(fmt.Sprintf("issued=%d/storage=memory", issued), func(b *testing.B) {
			st := newMemStorage()
			benchmarkAcquire(b, st, func() int64 { return int64(st.Stores()) }, issued)
		})
	}
}

func benchmarkAcquire(b *testing.B, st Storage, storeCount func() int64, issued int) {
	const clients = 16
	cfg := DefaultConfig()
	cfg.Reserve = map[int]int{17: 1}
	p, err := New(cfg, Deps{Bee: noBee{}, Storage: st, NodeKey: "http://bee"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.gc.stop()
	ctx := context.Background()
	// 2 batches per client in reserve; an issued batch goes back to the reserve each time.
	if err := p.update(ctx, func(d *ledgerDoc) error {
		for i := range 2 * clients {
			d.Batches = append(d.Batches, &record{ID: fmt.Sprintf("%064x", i), Label: fmt.Sprintf("caddy-bee-17-%012x", i),
				Depth: 17, State: Reserve, Amount: "41472000000", BoughtAt: time.Now(), TTLSeconds: 86400})
		}
		for i := range issued {
			id := 2*clients + i
			d.Batches = append(d.Batches, &record{ID: fmt.Sprintf("%064x", id), Label: fmt.Sprintf("caddy-bee-17-%012x", id),
				Depth: 17, State: Issued, Amount: "41472000000", BoughtAt: time.Now(), UsableAt: time.Now(), IssuedAt: time.Now(),
				TTLSeconds: 86400, SeenOnChain: true, LastSeen: time.Now()})
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	stores := storeCount()
	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				got, _, err := p.Acquire(ctx, 17, false)
				d := time.Since(start)
				if err != nil {
					b.Error(err)
					return
				}
				if err := p.updateInPlace(ctx, func(doc *ledgerDoc) error { doc.find(got.ID).State = Reserve; return nil }); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	// Two updates per acquire here (the acquire and the batch's return to the reserve).
	b.ReportMetric(float64(storeCount()-stores)/float64(2*b.N), "writes/update")
}

// syncedFileStorage syncs lock files and stored values to disk, as Caddy's file storage does
// (a JSON lock file with fsync, and an fsynced temp file renamed into place).
type syncedFileStorage struct {
	fileStorage
	count *atomic.Int64 // stores
	sync  bool          // false: no fsync (the kernel writes back later)
}

func (f syncedFileStorage) Lock(ctx context.Context, name string) error {
	if err := f.fileStorage.Lock(ctx, name); err != nil {
		return err
	}
	return syncWrite(f.path(name)+".lock", []byte(`{"created":"2026-01-01T00:00:00Z"}`), f.sync)
}

func (f syncedFileStorage) Store(_ context.Context, key string, value []byte) error {
	f.count.Add(1)
	p := f.path(key)
	_ = os.MkdirAll(filepath.Dir(p), 0o700)
	if err := syncWrite(p+".tmp", value, f.sync); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

func syncWrite(path string, value []byte, sync bool) error {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.Write(value); err != nil {
		fh.Close()
		return err
	}
	if sync {
		if err := fh.Sync(); err != nil {
			fh.Close()
			return err
		}
	}
	return fh.Close()
}

// noBee is a Bee that is never called: the benchmark's pool is not started.
type noBee struct{ Bee }
