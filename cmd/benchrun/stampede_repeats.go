package main

import (
	"slices"
	"time"
)

// repeatBelow is the body size under which a stampede case is run several times: such a
// case moves its bytes in a few milliseconds, where one scheduling hiccup on a shared
// 2-core machine halves or doubles the delivered throughput of a single try.
const (
	repeatBelow   = 10 << 20
	shortCaseRuns = 5
)

// stampedeRuns is how many times a case of this body size runs.
func stampedeRuns(size int64) int {
	if size < repeatBelow {
		return shortCaseRuns
	}
	return 1
}

// medianDelivery picks the try with the median delivery window, so the latencies, answers
// and delivered rate reported come from one real try; ties go to the earlier try.
func medianDelivery[T any](tries []T, delivery func(T) time.Duration) T {
	idx := make([]int, len(tries))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(delivery(tries[a]) - delivery(tries[b])) })
	return tries[idx[(len(idx)-1)/2]]
}

// combineStampedeTries reports a case run several times: the median try by delivery
// window, with the most upstream requests and the highest peak RSS of any try (the
// targets on those must hold on every try, not on a typical one).
func combineStampedeTries(tries []stampedeRow) stampedeRow {
	row := medianDelivery(tries, func(r stampedeRow) time.Duration { return r.Delivery })
	for _, t := range tries {
		row.Upstream = max(row.Upstream, t.Upstream)
		row.PeakRSS = max(row.PeakRSS, t.PeakRSS)
	}
	row.Tries = len(tries)
	return row
}
