package pool

import (
	"context"
	"fmt"
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
