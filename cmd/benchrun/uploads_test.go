package main

import (
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
)

func rowOf(ds ...time.Duration) uploadRow {
	var r uploadRow
	for _, d := range ds {
		r.Results = append(r.Results, loadgen.Result{Latency: d})
	}
	return r
}

func TestPairedDiffMedianAndInterval(t *testing.T) {
	// Differences 1..100 µs: median 51 µs (rank n/2), the 95% interval ranks 50 -+ 9.8.
	a, b := uploadRow{}, uploadRow{}
	for i := range 100 {
		a.Results = append(a.Results, loadgen.Result{Latency: time.Millisecond + time.Duration(i+1)*time.Microsecond})
		b.Results = append(b.Results, loadgen.Result{Latency: time.Millisecond})
	}
	p := pairedDiff(a, b)
	if p.N != 100 || p.Median != 51*time.Microsecond {
		t.Fatalf("median %v over %d pairs, want 51µs over 100", p.Median, p.N)
	}
	if p.Low != 41*time.Microsecond || p.High != 61*time.Microsecond {
		t.Fatalf("interval %v..%v, want 41µs..61µs", p.Low, p.High)
	}
	// Pairs, not percentiles: a constant offset survives any spread common to both rows.
	p = pairedDiff(rowOf(10*time.Millisecond, 3*time.Millisecond, 7*time.Millisecond), rowOf(9*time.Millisecond, 2*time.Millisecond, 6*time.Millisecond))
	if p.Median != time.Millisecond || p.Low != time.Millisecond || p.High != time.Millisecond {
		t.Fatalf("constant offset: %+v, want 1ms everywhere", p)
	}
	if p := pairedDiff(uploadRow{}, rowOf(time.Millisecond)); p.N != 0 {
		t.Fatalf("no pairs: %+v", p)
	}
}

func TestBestResolvedPicksNarrowestInterval(t *testing.T) {
	es := []injectionEstimate{
		{Size: 1 << 20, Overhead: paired{Median: 170 * time.Microsecond, Low: -300 * time.Microsecond, High: 600 * time.Microsecond, N: 300}},
		{Size: 4 << 10, Overhead: paired{Median: 40 * time.Microsecond, Low: 30 * time.Microsecond, High: 52 * time.Microsecond, N: 3000}},
	}
	if got, ok := bestResolved(es); !ok || got.Size != 4<<10 {
		t.Fatalf("best resolved: %+v %v, want the 4 KiB estimate", got, ok)
	}
	if _, ok := bestResolved(nil); ok {
		t.Fatal("no estimates: want none")
	}
}
