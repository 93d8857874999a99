package main

import (
	"testing"
	"time"
)

func TestCombineStampedeTriesTakesMedianDeliveryAndWorstBounds(t *testing.T) {
	tries := []stampedeRow{
		{Delivery: 9 * time.Millisecond, Upstream: 1, PeakRSS: 50},
		{Delivery: 2 * time.Millisecond, Upstream: 1, PeakRSS: 70},
		{Delivery: 4 * time.Millisecond, Upstream: 2, PeakRSS: 40, Single: time.Second},
		{Delivery: 3 * time.Millisecond, Upstream: 1, PeakRSS: 60},
		{Delivery: 30 * time.Millisecond, Upstream: 1, PeakRSS: 55},
	}
	row := combineStampedeTries(tries)
	if row.Delivery != 4*time.Millisecond || row.Single != time.Second {
		t.Fatalf("median try: got delivery %v single %v, want the 4 ms try", row.Delivery, row.Single)
	}
	if row.Upstream != 2 || row.PeakRSS != 70 || row.Tries != 5 {
		t.Fatalf("worst bounds: got upstream %d RSS %d tries %d, want 2, 70, 5", row.Upstream, row.PeakRSS, row.Tries)
	}
}

func TestMedianDeliveryOfEvenCountTakesLowerMiddle(t *testing.T) {
	got := medianDelivery([]time.Duration{4, 1, 3, 2}, func(d time.Duration) time.Duration { return d })
	if got != 2 {
		t.Fatalf("got %v, want 2", got)
	}
}

func TestOnlyShortCasesRepeat(t *testing.T) {
	if stampedeRuns(1<<20) != shortCaseRuns || stampedeRuns(100<<20) != 1 {
		t.Fatalf("1 MiB runs %d, 100 MiB runs %d", stampedeRuns(1<<20), stampedeRuns(100<<20))
	}
}
