package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
)

type uploadRow struct {
	Mode    string
	Size    int
	Summary loadgen.Summary
	Mean    time.Duration
	Results []loadgen.Result // in order: upload i of every mode ran back to back
}

// paired is the median over i of (upload i of a) - (upload i of b), with a distribution-free
// 95% confidence interval for that median (order statistics of the differences): uploads i of
// both modes ran back to back, so drift and noise that hit both cancel out.
type paired struct {
	Median, Low, High time.Duration
	N                 int
}

// HalfWidth is half the confidence interval's width: what the estimate can resolve.
func (p paired) HalfWidth() time.Duration { return (p.High - p.Low) / 2 }

func pairedDiff(a, b uploadRow) paired {
	n := min(len(a.Results), len(b.Results))
	if n == 0 {
		return paired{}
	}
	d := make([]time.Duration, n)
	for i := range n {
		d[i] = a.Results[i].Latency - b.Results[i].Latency
	}
	slices.Sort(d)
	// Ranks n/2 -+ 1.96 sqrt(n)/2 (normal approximation of the binomial).
	half := 0.98 * math.Sqrt(float64(n))
	lo := max(int(math.Floor(float64(n)/2-half)), 0)
	hi := min(int(math.Ceil(float64(n)/2+half)), n-1)
	return paired{Median: d[n/2], Low: d[lo], High: d[hi], N: n}
}

// uploads runs the upload workload at each size: smallSize resolves a per-upload overhead
// of tens of microseconds (a 4 KiB upload takes about a millisecond), uploadSize shows what
// grows with the body.
func (bn *bench) uploads() ([]uploadRow, error) {
	if err := bn.sim.SetDownloadLatency(0); err != nil {
		return nil, err
	}
	batch, err := bn.acquireOne()
	if err != nil {
		return nil, fmt.Errorf("acquire the explicit batch: %w", err)
	}
	if err := bn.waitReserve(); err != nil {
		return nil, err
	}
	var rows []uploadRow
	for _, run := range []struct{ size, count int }{{bn.opts.smallSize, bn.opts.smallUploads}, {bn.opts.uploadSize, bn.opts.uploads}} {
		if run.count <= 0 {
			continue
		}
		got, err := bn.uploadsOfSize(batch, run.size, run.count)
		if err != nil {
			return nil, err
		}
		rows = append(rows, got...)
	}
	return rows, nil
}

func (bn *bench) uploadsOfSize(batch string, size, count int) ([]uploadRow, error) {
	type mode struct {
		name   string
		url    string
		header http.Header
	}
	modes := []mode{
		{"B explicit batch", bn.b.url, http.Header{"Swarm-Postage-Batch-Id": {batch}}},
		{"B injected", bn.b.url, http.Header{}},
		{"A explicit batch (plain reverse_proxy)", bn.a.url, http.Header{"Swarm-Postage-Batch-Id": {batch}}},
	}
	client := loadgen.NewClient(1)
	defer client.CloseIdleConnections()
	results := make([][]loadgen.Result, len(modes))
	body := make([]byte, size)
	sizeTag := byte(size >> 12)
	// Interleaved and sequential: each upload alone on the machine, modes alternating so
	// drift hits all of them alike.
	for i := range count {
		for j := range modes {
			k := (i + j) % len(modes)
			m := modes[k]
			if err := bn.ctx.Err(); err != nil {
				return nil, err
			}
			// Every chunk of every upload distinct, as real uploads are: identical chunks
			// would hit the same buckets again and fill a batch early.
			rnd := rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(k), sizeTag})
			_, _ = rnd.Read(body)
			h := m.header.Clone()
			h.Set("Content-Type", "application/octet-stream")
			results[k] = append(results[k], loadgen.Do(bn.ctx, client,
				loadgen.Request{Method: http.MethodPost, URL: m.url + "/bytes", Header: h, Body: body}))
		}
	}
	var rows []uploadRow
	for k, m := range modes {
		s, err := loadgen.Summarize(results[k], 0)
		if err != nil {
			return nil, err
		}
		var sum time.Duration
		for _, r := range results[k] {
			sum += r.Latency
		}
		mean := sum / time.Duration(len(results[k]))
		rows = append(rows, uploadRow{Mode: m.name, Size: size, Summary: s, Mean: mean, Results: results[k]})
		bn.log("uploads %s %s: p50 %v p90 %v mean %v, %s", human(int64(size)), m.name, s.Latency.P50, s.Latency.P90, mean, s.StatusLine())
	}
	inj, exp, a := rows[1], rows[0], rows[2]
	o, f := pairedDiff(inj, exp), pairedDiff(exp, a)
	bn.log("uploads %s: injection overhead %v (95%% CI %v..%v); B vs A explicit %v (95%% CI %v..%v)",
		human(int64(size)), o.Median, o.Low, o.High, f.Median, f.Low, f.High)
	return rows, nil
}
