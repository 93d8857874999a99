package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/replay"
	"github.com/swarmgate/caddy-bee/internal/swarm"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// spendRow is one policy's result on the mixed-size upload workload.
type spendRow struct {
	Policy       string
	Uploads      int
	Stamped      int64   // stamped bytes Bee accepted
	SpentBZZ     float64 // purchases and top-ups (and dilutions' top-ups)
	Purchases    int
	TopUps       int
	Overflows    int       // 402s answered (each upload then went again)
	Retired      []float64 // share of the effective capacity each retired batch held
	Active       []string  // the active batches at the end: depth and share held
	BucketReads  int
	MBPerBZZ     float64
	CutUploads   int // 402 passed on to the client (on both attempts, or a body over 1 MiB)
	Waits        int // uploads told "no batch now" (503, Retry-After) at least once
	Dilutions    int
	BlockTimeSet time.Duration
}

// spendWorkload: mixed sizes, mostly small, some over the 1 MiB replay limit.
func spendWorkload(rng *rand.Rand) int {
	switch x := rng.Float64(); {
	case x < 0.60:
		return 4<<10 + rng.IntN(96<<10) // 4-100 KiB
	case x < 0.92:
		return 100<<10 + rng.IntN(900<<10) // 100 KiB - 1 MiB
	default:
		return 1<<20 + rng.IntN(3<<20) // 1-4 MiB: cannot be replayed after a 402
	}
}

// spendBench runs the same upload workload (same seed) against the pool with today's
// policy (LegacySpend: retire on the fullest bucket, smallest depth first) and with the
// capacity-aware one, each on a fresh in-process simulator that fills buckets like Bee.
// The gateway's injection loop is reproduced: a 402 is confirmed with the pool and the
// upload goes once more with the batch the pool names.
func (o options) spendBench(ctx context.Context, logf func(string, ...any)) ([]spendRow, error) {
	volume := int64(200 << 20)
	if o.quick {
		volume = 40 << 20
	}
	var rows []spendRow
	for _, legacy := range []bool{true, false} {
		row, err := spendRun(ctx, legacy, volume)
		if err != nil {
			return nil, err
		}
		logf("spend %s: %.1f MB stamped per BZZ, %d cut, %d waits, %d dilutions, %d batches retired holding %s of their effective capacity; active at the end: %v",
			row.Policy, row.MBPerBZZ, row.CutUploads, row.Waits, row.Dilutions, len(row.Retired), percents(row.Retired), row.Active)
		rows = append(rows, row)
	}
	return rows, nil
}

func spendRun(ctx context.Context, legacy bool, volume int64) (spendRow, error) {
	row := spendRow{Policy: "capacity-aware (issue 24)", BlockTimeSet: benchBlockTime}
	if legacy {
		row.Policy = "fullest bucket (before)"
	}
	sim := beesim.New(beesim.Options{BlockTime: benchBlockTime})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	client, err := bee.New(srv.URL, bee.Options{PurchaseTimeout: 30 * time.Second, ReadTimeout: 30 * time.Second})
	if err != nil {
		return row, err
	}
	counted := &countingBucketBee{Client: client}
	cfg := pool.DefaultConfig()
	cfg.Reserve = map[int]int{pool.SmallDepth: 1}
	cfg.BlockTime, cfg.BlockTimeConfigured = benchBlockTime, true
	cfg.PurchaseSpacing, cfg.RequestCheckGap = 0, 20*time.Millisecond
	cfg.MaxPurchasesPerHour = 1000
	cfg.LegacySpend = legacy
	p, err := pool.New(cfg, pool.Deps{Bee: counted, Storage: testkit.NewMemStorage(), NodeKey: srv.URL})
	if err != nil {
		return row, err
	}
	p.Start()
	defer p.Stop()

	rng := rand.New(rand.NewPCG(24, 24))
	data := make([]byte, 4<<20)
	for row.Stamped < volume {
		if ctx.Err() != nil {
			return row, ctx.Err()
		}
		n := spendWorkload(rng)
		for i := range n {
			data[i] = byte(rng.Uint32())
		}
		stamped := pool.StampedBytes(int64(n), swarm.LevelNone)
		avoid, ok := "", false
		for attempt := 1; attempt <= 2 && !ok; attempt++ {
			// As the gateway: a body over the replay limit cannot go again after a 402, and
			// neither can a retry (there is no third attempt).
			replayable := n <= replay.Limit && attempt == 1
			b, waited, err := activeWithin(ctx, p, stamped, replayable, avoid, 60*time.Second)
			if waited {
				row.Waits++
			}
			if err != nil {
				return row, err
			}
			status, err := spendUpload(srv.URL, b.ID, data[:n])
			if err != nil {
				return row, err
			}
			switch status {
			case http.StatusCreated:
				p.RecordUpload(b.ID, stamped)
				row.Stamped += stamped
				ok = true
			case http.StatusPaymentRequired:
				row.Overflows++
				refusal, err := p.ConfirmRefusal(ctx, b.ID, status, "batch is overissued")
				if err != nil || refusal == pool.RefusalKept || n > replay.Limit {
					attempt = 2 // the gateway passes the 402 on (a body over replay.Limit cannot go again)
				}
				if refusal == pool.RefusalOverflow {
					avoid = b.ID
				}
			default:
				return row, fmt.Errorf("upload of %d bytes: status %d", n, status)
			}
		}
		if !ok {
			row.CutUploads++
		}
		row.Uploads++
	}

	st := p.Status()
	row.SpentBZZ = st.Spend.SpentBZZ
	if row.SpentBZZ > 0 {
		row.MBPerBZZ = float64(row.Stamped) / 1e6 / row.SpentBZZ
	}
	stats := sim.Stats()
	row.Purchases, row.TopUps, row.Dilutions = int(stats.Purchases), int(stats.TopUps), int(stats.Dilutes)
	active := map[string]bool{}
	for _, a := range st.ActiveBatches {
		active[a.BatchID] = true
	}
	for _, b := range sim.Batches() {
		held := float64(b.Stamped) * 4096 / float64(pool.EffectiveCapacity(b.Depth))
		if active[b.BatchID] {
			row.Active = append(row.Active, fmt.Sprintf("depth %d %.0f%%", b.Depth, 100*held))
		} else if b.Stamped > 0 {
			row.Retired = append(row.Retired, held)
		}
	}
	sort.Float64s(row.Retired)
	row.BucketReads = counted.reads()
	return row, nil
}

// activeWithin asks the pool for a batch, waiting (as a client told 503 and Retry-After would)
// while the pool has none for the upload; waited says whether it had to.
func activeWithin(ctx context.Context, p *pool.Pool, stamped int64, replayable bool, avoid string, d time.Duration) (pool.Batch, bool, error) {
	deadline := time.Now().Add(d)
	for waited := false; ; waited = true {
		b, err := p.ActiveForUpload(ctx, stamped, replayable, avoid)
		if err == nil || !errors.Is(err, pool.ErrEmpty) || time.Now().After(deadline) {
			return b, waited, err
		}
		select {
		case <-ctx.Done():
			return b, waited, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func spendUpload(base, batch string, data []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/bytes", bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Swarm-Postage-Batch-Id", batch)
	req.Header.Set("Swarm-Redundancy-Level", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// countingBucketBee counts bucket reads (the cost of the capacity-aware policy).
type countingBucketBee struct {
	*bee.Client
	mu sync.Mutex
	n  int
}

func (c *countingBucketBee) Buckets(ctx context.Context, id string) (bee.Buckets, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Client.Buckets(ctx, id)
}

func (c *countingBucketBee) reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// runSpendOnly is `benchrun -spend-only`: the spend section alone.
func runSpendOnly(ctx context.Context, o options) (*report, error) {
	logf := func(format string, args ...any) {
		fmt.Printf("%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	rep := &report{opts: o, started: time.Now()}
	var err error
	rep.spend, err = o.spendBench(ctx, logf)
	return rep, err
}

// spendTable writes the spend section.
func (r *report) spendTable(w func(string, ...any)) {
	if len(r.spend) == 0 {
		return
	}
	w("## Spend efficiency: MB stamped per BZZ")
	w("")
	w("The same mixed-size upload workload (60%% 4-100 KiB, 32%% 100 KiB-1 MiB, 8%% 1-4 MiB, random bytes, redundancy")
	w("level 0), injected through the pool with `reserve small 1`, against a fresh in-process simulator that fills")
	w("buckets as Bee does, once per policy. The gateway's injection loop is reproduced (a 402 is confirmed with the")
	w("pool and the upload goes once more, unless its body is over the 1 MiB replay limit: then the 402 is the")
	w("client's, counted as *cut*). BZZ counts purchases and top-ups; block time set to the simulator's (%s),", benchBlockTime)
	w("so that only the batch policy differs. *Held* is each retired batch's stamped chunks over its effective")
	w("capacity (the chunks before its first bucket is expected to overflow), at the depth it retired with. An")
	w("upload that cannot be sent again (a body over 1 MiB, or a retry) is given only a batch it would not overflow;")
	w("where none has the room, the pool answers 503 (*waits*) and dilutes a batch until one has.")
	w("")
	w("| policy | uploads | MB stamped | BZZ spent | **MB per BZZ** | purchases | top-ups | dilutions | 402s | cut | waits | bucket reads | retired: held (min / median) |")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, row := range r.spend {
		held := "-"
		if n := len(row.Retired); n > 0 {
			held = fmt.Sprintf("%d: %.0f%% / %.0f%%", n, 100*row.Retired[0], 100*row.Retired[n/2])
		}
		if len(row.Active) > 0 {
			held += " (active at the end: " + strings.Join(row.Active, ", ") + ")"
		}
		w("| %s | %d | %.1f | %.4f | **%.1f** | %d | %d | %d | %d | %d | %d | %d | %s |", row.Policy, row.Uploads, float64(row.Stamped)/1e6,
			row.SpentBZZ, row.MBPerBZZ, row.Purchases, row.TopUps, row.Dilutions, row.Overflows, row.CutUploads, row.Waits, row.BucketReads, held)
	}
	w("")
}

// percents formats shares as whole percentages.
func percents(shares []float64) string {
	out := make([]string, len(shares))
	for i, f := range shares {
		out[i] = fmt.Sprintf("%.1f%%", 100*f)
	}
	return "[" + strings.Join(out, " ") + "]"
}
