package main

import (
	"testing"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
)

func TestDistinctOrderKeepsAAndBTogether(t *testing.T) {
	ts := []*target{{key: "C"}, {key: "B"}, {key: "D"}, {key: "A"}}
	keys := func(ts []*target) (s string) {
		for _, t := range ts {
			s += t.key
		}
		return s
	}
	if got := keys(distinctOrder(0, ts)); got != "ABCD" {
		t.Fatalf("round 0: %s, want ABCD", got)
	}
	if got := keys(distinctOrder(1, ts)); got != "BACD" {
		t.Fatalf("round 1: %s, want BACD", got)
	}
	if got := keys(distinctOrder(0, []*target{{key: "C"}, {key: "A"}})); got != "CA" {
		t.Fatalf("without B: %s, want the order as given", got)
	}
}

func TestPairedRatioIsTheMedianOfSameRoundRatios(t *testing.T) {
	rounds := func(tps ...float64) *distinctRow {
		r := &distinctRow{}
		for _, tp := range tps {
			r.Rounds = append(r.Rounds, loadgen.Summary{Throughput: tp})
		}
		return r
	}
	// A drifts from 1000 to 500 req/s; B is always 90% of the A round beside it, except one
	// round disturbed either way.
	a := rounds(1000, 900, 700, 500, 600)
	b := rounds(900, 810, 700, 450, 300)
	med, lo, hi := pairedRatio(b, a, throughput)
	if med != 0.9 || lo != 0.5 || hi != 1 {
		t.Fatalf("got median %v range %v..%v, want 0.9, 0.5..1", med, lo, hi)
	}
	if med, _, _ := pairedRatio(rounds(), a, throughput); med != 0 {
		t.Fatalf("no rounds: %v", med)
	}
}
