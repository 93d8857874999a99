package main

import (
	"slices"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
)

// distinctOrder is a round's order of the configurations: A and B back to back (which one
// first alternates), then the others rotated. Throughput on this machine drifts by tens of
// percent within a minute, so B is compared with the A round next to it (pairedRatio), not
// with A's rounds at large.
func distinctOrder(round int, rotated []*target) []*target {
	var a, b *target
	var rest []*target
	for _, t := range rotated {
		switch t.key {
		case "A":
			a = t
		case "B":
			b = t
		default:
			rest = append(rest, t)
		}
	}
	var pair []*target
	switch {
	case a == nil || b == nil:
		return rotated
	case round%2 == 0:
		pair = []*target{a, b}
	default:
		pair = []*target{b, a}
	}
	return append(pair, rest...)
}

// pairedRatio is the median over rounds of row's figure over a's figure in the same round,
// with the smallest and largest of those ratios.
func pairedRatio(row, a *distinctRow, f func(loadgen.Summary) float64) (median, lo, hi float64) {
	var rs []float64
	for i := range min(len(row.Rounds), len(a.Rounds)) {
		if d := f(a.Rounds[i]); d > 0 {
			rs = append(rs, f(row.Rounds[i])/d)
		}
	}
	if len(rs) == 0 {
		return 0, 0, 0
	}
	slices.Sort(rs)
	return rs[(len(rs)-1)/2], rs[0], rs[len(rs)-1]
}
