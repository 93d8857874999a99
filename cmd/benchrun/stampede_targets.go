package main

import (
	"fmt"
	"strings"
)

// The stampede targets of issue 20: B delivers the stampede's bytes within 0.8x of the
// machine's loopback limit (measured in the same run, loopback.go), at least as fast as
// Varnish and with at most a quarter of its peak RSS.

const (
	loopbackShareTarget = 0.8
	varnishRSSShare     = 0.25
)

func (r *report) loopbackFor(size int64, n int) *loopbackRow {
	for i := range r.loopback {
		if r.loopback[i].Size == size && r.loopback[i].N == n {
			return &r.loopback[i]
		}
	}
	return nil
}

func (r *report) stampedeRowFor(size int64, n int, target string) *stampedeRow {
	for i := range r.stampede {
		if s := &r.stampede[i]; s.Size == size && s.N == n && s.Target == target && s.Summary.Requests > 0 {
			return s
		}
	}
	return nil
}

func (row *stampedeRow) rate() float64 { return deliveredRate(row.Size, row.N, row.Delivery) }
func (row *loopbackRow) rate() float64 { return deliveredRate(row.Size, row.N, row.Delivery) }

// stampedeTargets writes the stampede's delivery rows of the targets table and returns the
// paragraph that explains misses.
func (r *report) stampedeTargets(w func(string, ...any)) []string {
	worstL, worstLCase, casesL := 0.0, "", 0
	worstD, worstDCase, casesD := 0.0, "", 0
	worstRSS, worstRSSCase := 0.0, ""
	var missedL []string
	for _, row := range r.stampede {
		if row.Target != "B" || row.Summary.Requests == 0 {
			continue
		}
		c := fmt.Sprintf("%s x %d", human(row.Size), row.N)
		if l := r.loopbackFor(row.Size, row.N); l != nil && l.rate() > 0 {
			share := row.rate() / l.rate()
			if casesL == 0 || share < worstL {
				worstL, worstLCase = share, c
			}
			casesL++
			if share < loopbackShareTarget {
				missedL = append(missedL, fmt.Sprintf("%s: %s/s of %s/s", c, human(int64(row.rate())), human(int64(l.rate()))))
			}
		}
		if d := r.stampedeRowFor(row.Size, row.N, "D"); d != nil && d.rate() > 0 {
			vs := row.rate() / d.rate()
			if casesD == 0 || vs < worstD {
				worstD, worstDCase = vs, c
			}
			if d.PeakRSS > 0 {
				if rss := float64(row.PeakRSS) / float64(d.PeakRSS); rss > worstRSS {
					worstRSS, worstRSSCase = rss, c
				}
			}
			casesD++
		}
	}
	if casesL == 0 {
		w("| Stampede: B delivers >= %.1fx the loopback limit | not measured | - |", loopbackShareTarget)
	} else {
		w("| Stampede: B delivers >= %.1fx the loopback limit (file_server, same clients, same bytes) | worst %.2fx (%s) over %d cases | %s |",
			loopbackShareTarget, worstL, worstLCase, casesL, yes(worstL >= loopbackShareTarget))
	}
	if casesD == 0 {
		w("| Fan-out: B delivers >= Varnish's GiB/s, peak RSS <= 1/4 of Varnish's | not measured: Varnish is not installed | - |")
	} else {
		w("| Fan-out: B delivers >= Varnish's GiB/s in every stampede case | worst %.2fx (%s) | %s |", worstD, worstDCase, yes(worstD >= 1))
		w("| Fan-out: B's peak RSS <= 1/4 of Varnish's in every stampede case | worst %.2fx (%s) | %s |", worstRSS, worstRSSCase, yes(worstRSS <= varnishRSSShare))
	}
	var out []string
	if casesD > 0 && worstRSS > varnishRSSShare {
		out = append(out,
			"Where B's peak RSS exceeds a quarter of Varnish's: a Caddy process (A and B alike) starts at about",
			"50 MiB of resident memory before any request, while Varnish's stays near its body size; a quarter",
			"of Varnish's can only hold where Varnish keeps a large body in memory (the 100 MiB cases), while B",
			"keeps at most its memory window and spills the rest to a file.",
			"")
	}
	if len(missedL) > 0 {
		out = append(out,
			"Delivered throughput is a case's N x size bytes over the time from the first response byte any client got",
			"to the last body byte, so the proxy's wait for Bee is left out; the loopback limit is the same clients",
			"fetching a file of that size from Caddy's `file_server` (sendfile, no upstream, 1 MiB writes as",
			"caddy-bee's downloads) in the same run.",
			"Below the target: "+strings.Join(missedL, "; ")+".",
			"")
	}
	return out
}

// deliveryTable lists every configuration's delivered throughput per stampede case beside
// the loopback limit.
func (r *report) deliveryTable(w func(string, ...any)) {
	if len(r.loopback) == 0 {
		return
	}
	var keys []string
	for _, t := range r.targets {
		keys = append(keys, t.key)
	}
	w("### Delivered throughput against the loopback limit")
	w("")
	w("The stampede's bytes (N x size) over the time from the first response byte to the last body")
	w("byte, beside the same clients fetching a file of that size from Caddy's `file_server` in this run")
	w("(*Limit*; with `write_max_chunk 1MiB`, the write size caddy-bee gives downloads, where Caddy's")
	w("default is 64 KiB); the share of the limit is in brackets.")
	w("")
	w("| Size | N | Limit | %s |", strings.Join(keys, " | "))
	w("|---|---|---|%s", strings.Repeat("---|", len(keys)))
	for _, l := range r.loopback {
		cells := make([]string, 0, len(keys))
		for _, k := range keys {
			row := r.stampedeRowFor(l.Size, l.N, k)
			if row == nil || l.rate() <= 0 {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, fmt.Sprintf("%s/s (%.2f)", human(int64(row.rate())), row.rate()/l.rate()))
		}
		w("| %s | %d | %s/s | %s |", human(l.Size), l.N, human(int64(l.rate())), strings.Join(cells, " | "))
	}
	w("")
}
