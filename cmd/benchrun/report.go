package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
)

type report struct {
	opts     options
	targets  []*target
	notes    []string
	started  time.Time
	Duration time.Duration

	stampede []stampedeRow
	loopback []loopbackRow // the machine's limit per stampede case (loopback.go)
	charts   []chart       // SVG files written next to the report (charts.go)
	distinct []distinctRow
	uploads  []uploadRow
	acquire  acquireResult
	stalled  []stalledRow
	spend    []spendRow // spend.go
	zipf     []zipfRow
}

// failures lists workloads with failed requests; a bench with failures exits non-zero.
// An acquire answered 409 (reserve empty) is the pool saying so, not a failure.
func (r *report) failures() []string {
	var out []string
	for _, row := range r.stampede {
		if row.Summary.Requests > 0 && row.Summary.Failed() > 0 {
			out = append(out, fmt.Sprintf("stampede %s x %d via %s: %s (%s)", human(row.Size), row.N, row.Target, row.Summary.StatusLine(), row.Summary.FirstError))
		}
	}
	for _, row := range r.distinct {
		for i, s := range row.Rounds {
			if s.Failed() > 0 {
				out = append(out, fmt.Sprintf("distinct round %d via %s: %s (%s)", i+1, row.Target, s.StatusLine(), s.FirstError))
			}
		}
	}
	for _, row := range r.uploads {
		if row.Summary.Failed() > 0 {
			out = append(out, fmt.Sprintf("uploads %s: %s (%s)", row.Mode, row.Summary.StatusLine(), row.Summary.FirstError))
		}
	}
	for _, row := range r.zipf {
		if row.Summary.Failed() > 0 {
			out = append(out, fmt.Sprintf("zipf via %s: %s (%s)", row.Target, row.Summary.StatusLine(), row.Summary.FirstError))
		}
	}
	a := r.acquire.Summary
	if r.opts.only == "zipf" {
		return out
	}
	if a.Requests-a.Statuses[http.StatusOK]-a.Statuses[http.StatusConflict] > 0 {
		out = append(out, fmt.Sprintf("acquire: %s (%s)", a.StatusLine(), a.FirstError))
	}
	if c := r.acquire.Concurrent; c.Requests-c.Statuses[http.StatusOK]-c.Statuses[http.StatusConflict] > 0 {
		out = append(out, fmt.Sprintf("acquire x %d clients: %s (%s)", acquireClients, c.StatusLine(), c.FirstError))
	}
	return out
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	cmd := "make bench"
	if r.opts.quick {
		cmd = "make bench-quick"
	}
	w("# Benchmarks")
	w("")
	w("Written by `%s` (`go run ./cmd/benchrun %s`) on %s, in %v.", cmd, strings.Join(repoRelative(os.Args[1:]), " "),
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.Duration.Round(time.Second))
	w("Machine: %s. %s.", machine(), versions())
	w("")
	w("Every configuration runs in front of the **same Bee simulator** (`cmd/beesim`), on loopback, in the")
	w("same run; configurations take turns, in a rotating order. Absolute times drift between runs on a")
	w("shared 2-core machine (the load generator, the proxy and the simulator share the cores), so read")
	w("the ratios, which are measured side by side.")
	w("")
	for _, t := range r.targets {
		w("- **%s**: %s", t.key, describe(t.key))
	}
	for _, n := range r.notes {
		w("- %s", n)
	}
	w("")
	r.targetsTable(w)
	r.chartsSection(w) // charts.go
	r.stampedeTable(w)
	r.deliveryTable(w) // stampede_targets.go
	r.distinctTable(w)
	r.uploadsTable(w)
	r.acquireTable(w)
	r.stalledTable(w)
	r.spendTable(w)
	r.zipfTable(w)
	return b.String()
}

func describe(key string) string {
	switch key {
	case "A":
		return "plain Caddy `reverse_proxy` to the simulator (the same `bin/caddy`)."
	case "B":
		return "caddy-bee: `bee <sim> { pool { reserve large N } }`, coalescing on (defaults: 8 MiB memory window), injection on."
	case "C":
		return "nginx with `proxy_cache` and `proxy_cache_lock on` (generated config, 2 workers)."
	case "D":
		return "Varnish with its built-in VCL (`varnishd -b <sim>`, malloc storage)."
	case "E":
		return "caddy-bee as B with `cache off` (only with -cache-off-target)."
	}
	return ""
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH)
}

func versions() string {
	parts := []string{runtime.Version(), "Caddy v2.11.9"}
	if out, err := exec.Command("nginx", "-v").CombinedOutput(); err == nil {
		parts = append(parts, strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: ")))
	}
	if out, err := exec.Command("varnishd", "-V").CombinedOutput(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		if i := strings.Index(first, "("); i >= 0 {
			first = first[i+1:]
			first, _, _ = strings.Cut(first, " ")
		}
		parts = append(parts, first)
	}
	return strings.Join(parts, ", ")
}

func yes(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func (r *report) targetsTable(w func(string, ...any)) {
	w("## Targets")
	w("")
	w("| Target | Measured | |")
	w("|---|---|---|")

	// Stampede upstream requests for B.
	maxUp, cases := int64(0), 0
	upByTarget := map[string]int64{}
	for _, row := range r.stampede {
		if row.Summary.Requests == 0 {
			continue
		}
		upByTarget[row.Target] += row.Upstream
		if row.Target != "B" {
			continue
		}
		cases++
		maxUp = max(maxUp, row.Upstream)
	}
	w("| Stampede: upstream requests = 1 for every N (B) | max %d over %d cases | %s |", maxUp, cases, yes(maxUp == 1 && cases > 0))
	explainStampede := r.stampedeTargets(w) // stampede_targets.go

	var explainDistinct []string
	for _, lat := range r.opts.distinctLatencies {
		a, bRow := r.distinctRow(lat, "A"), r.distinctRow(lat, "B")
		if a == nil || bRow == nil {
			continue
		}
		tput, tLo, tHi := pairedRatio(bRow, a, throughput)
		p50a := time.Duration(a.median(latencyP50))
		p50b := time.Duration(bRow.median(latencyP50))
		p50, pLo, pHi := pairedRatio(bRow, a, latencyP50)
		w("| Distinct (Bee latency %v): B throughput >= 0.97x A | %.3fx (median of %d paired rounds; %.3f..%.3f) | %s |",
			lat, tput, len(bRow.Rounds), tLo, tHi, yes(tput >= 0.97))
		w("| Distinct (Bee latency %v): B/A p50 latency <= 1.03 | %.3fx (%s vs %s; %.3f..%.3f) | %s |",
			lat, p50, ms(p50b), ms(p50a), pLo, pHi, yes(p50 <= 1.03))
		if tput < 0.97 || p50 > 1.03 {
			// With C clients always busy, throughput = C / latency: the CPU B spends per request.
			perReq := time.Duration(float64(time.Second) * (1/bRow.median(throughput) - 1/a.median(throughput)))
			explainDistinct = append(explainDistinct, fmt.Sprintf("at %v, B costs %v more machine time per request", lat, perReq))
		}
	}

	inj := r.injectionEstimates()
	best, bestOK := bestResolved(inj)
	if bestOK {
		var parts []string
		for _, e := range inj {
			note := ""
			if e.Size == best.Size {
				note = ", best resolved"
			}
			parts = append(parts, fmt.Sprintf("%s at %s (95%% CI %s..%s over %d pairs%s)", signed(e.Overhead.Median), human(int64(e.Size)),
				signed(e.Overhead.Low), signed(e.Overhead.High), e.Overhead.N, note))
		}
		w("| Injection overhead < 100 µs per upload | %s | %s |", strings.Join(parts, "; "), yes(best.Overhead.High < 100*time.Microsecond))
	} else {
		w("| Injection overhead < 100 µs per upload | not measured | - |")
	}
	acq, acqHow := r.acquire.Concurrent.Latency.P99, fmt.Sprintf("%d concurrent clients, %d acquires", acquireClients, r.acquire.Concurrent.Requests)
	acq50 := r.acquire.Concurrent.Latency.P50
	if r.acquire.Concurrent.Requests == 0 {
		acq, acq50, acqHow = r.acquire.Summary.Latency.P99, r.acquire.Summary.Latency.P50, "sequential only"
	}
	if acq == 0 {
		w("| Acquire p99 < 5 ms at %d concurrent clients | not measured | - |", acquireClients)
	} else {
		w("| Acquire p99 < 5 ms at %d concurrent clients | %s (p50 %s; %s) | %s |", acquireClients, ms(acq), ms(acq50), acqHow, yes(acq < 5*time.Millisecond))
	}
	var peers []string
	peerOK := true
	for _, t := range r.targets {
		if t.key == "C" || t.key == "D" {
			peers = append(peers, fmt.Sprintf("%s %d", t.key, upByTarget[t.key]))
			peerOK = peerOK && upByTarget["B"] <= upByTarget[t.key]
		}
	}
	if len(peers) == 0 {
		w("| B's stampede upstream requests <= nginx's and Varnish's | not measured: neither is installed | - |")
	} else {
		w("| B's stampede upstream requests <= nginx's and Varnish's | totals: B %d, %s | %s |", upByTarget["B"], strings.Join(peers, ", "), yes(peerOK))
	}
	w("")
	for _, line := range explainStampede {
		w("%s", line)
	}
	if bestOK && best.Overhead.High >= 100*time.Microsecond {
		w("Where injection misses 100 µs: the whole 95%% confidence interval of the paired median must lie below")
		w("100 µs. The same paired measurement between two paths that do the same work, B's and A's explicit")
		w("uploads of %s, gives %s (95%% CI %s..%s): the noise floor of that size on this machine.", human(int64(best.Size)),
			signed(best.Floor.Median), signed(best.Floor.Low), signed(best.Floor.High))
		w("")
	}
	for _, e := range inj {
		if e.Overhead.Low >= 100*time.Microsecond {
			w("At %s the paired median's interval lies above 100 µs (%s..%s); the noise floor at that size is %s",
				human(int64(e.Size)), signed(e.Overhead.Low), signed(e.Overhead.High), signed(e.Floor.Median))
			floorWide := e.Floor.High-e.Floor.Low >= 200*time.Microsecond || e.Floor.Median <= -100*time.Microsecond || e.Floor.Median >= 100*time.Microsecond
			if floorWide {
				w("(%s..%s): two paths doing the same work differ by as much there, so that size does not resolve", signed(e.Floor.Low), signed(e.Floor.High))
				w("100 µs on this machine.")
			} else {
				w("(%s..%s), far narrower: at that size injection costs more than 100 µs.", signed(e.Floor.Low), signed(e.Floor.High))
			}
			w("")
		}
	}
	if acq >= 5*time.Millisecond {
		w("Where acquire misses 5 ms: an acquire answers only after the batch is recorded as issued in the")
		w("ledger, under the storage lock (a lock file, a fresh read, an atomic write with fsync, the lock")
		w("removed), so no crash and no second Caddy instance can ever hand the same batch out again.")
		w("Concurrent acquires share one such write (group commit: %.2f ledger writes per acquire here,", r.acquire.WritesPerAcquire())
		w("replacement purchases' bookkeeping included), so an acquire waits for one or two commits: two")
		w("fsyncs each (Caddy's file storage syncs the lock file and the ledger), the ledger written whole")
		w("(%s at the end: the batches in service and the last few dozen issued ones; the older", human(r.acquire.LedgerBytes))
		w("issued batches live in history segments written in the background). An fsync itself is")
		w("cheap here (well under a millisecond at p99 under strace), so the tail is waiting: for the")
		w("commit in flight, and for the two cores shared with the load generator, the simulator (whose")
		w("stamp listing grows with every batch bought) and whatever else runs on the machine.")
		w("")
	}
	if len(explainDistinct) > 0 {
		w("Where the distinct targets are missed: the load generator, the proxy and the simulator share two")
		w("cores, so the run is CPU-bound and throughput measures CPU per request: " + strings.Join(explainDistinct, "; ") + ".")
		w("That is B's own work on a request that shares nothing (route policy, coalescing key, a flight")
		w("whose upstream call runs on another goroutine, and a copy of its first 64 KiB kept so that a")
		w("late identical request can still join). With a 4 KiB")
		w("download answered in well under a millisecond it shows; against a Bee retrieval of tens of")
		w("milliseconds or more it disappears into the noise, as the row at a Bee latency of 20 ms shows.")
		w("")
	}
}

func throughput(s loadgen.Summary) float64 { return s.Throughput }
func latencyP50(s loadgen.Summary) float64 { return float64(s.Latency.P50) }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (r *report) distinctRow(latency time.Duration, target string) *distinctRow {
	for i := range r.distinct {
		if r.distinct[i].Latency == latency && r.distinct[i].Target == target {
			return &r.distinct[i]
		}
	}
	return nil
}

// uploadOf is the upload row of the mode starting with prefix, at size.
func (r *report) uploadOf(prefix string, size int) uploadRow {
	for _, u := range r.uploads {
		if strings.HasPrefix(u.Mode, prefix) && u.Size == size {
			return u
		}
	}
	return uploadRow{}
}

// injectionEstimate is injection's overhead at one upload size: B injected - B explicit,
// paired, beside the noise floor B explicit - A explicit (two paths doing the same work).
type injectionEstimate struct {
	Size            int
	Overhead, Floor paired
}

func (r *report) injectionEstimates() []injectionEstimate {
	var out []injectionEstimate
	var sizes []int
	for _, u := range r.uploads {
		if !slices.Contains(sizes, u.Size) {
			sizes = append(sizes, u.Size)
		}
	}
	for _, size := range sizes {
		exp := r.uploadOf("B explicit", size)
		e := injectionEstimate{Size: size, Overhead: pairedDiff(r.uploadOf("B injected", size), exp),
			Floor: pairedDiff(exp, r.uploadOf("A explicit", size))}
		if e.Overhead.N > 0 {
			out = append(out, e)
		}
	}
	return out
}

// bestResolved is the estimate with the narrowest confidence interval.
func bestResolved(es []injectionEstimate) (injectionEstimate, bool) {
	if len(es) == 0 {
		return injectionEstimate{}, false
	}
	best := es[0]
	for _, e := range es[1:] {
		if e.Overhead.HalfWidth() < best.Overhead.HalfWidth() {
			best = e
		}
	}
	return best, true
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(10 * time.Millisecond).String()
}

func (r *report) stampedeTable(w func(string, ...any)) {
	w("## 1. Stampede")
	w("")
	w("N clients GET the same fresh `/bytes/{ref}` at the same instant; the simulator waits %v", r.opts.latency)
	w("before answering each download (a Bee retrieval). *Upstream* is the downloads the simulator")
	w("served. *Single* is one lone request of the same size through the same configuration (median")
	w("of 3). *Peak RSS* is the proxy's resident memory high-water mark during the case (VmHWM, reset")
	w("before each case; summed over worker processes for nginx and Varnish). A case whose body is under")
	w("%s moves its bytes in milliseconds, so it runs %d times, each on a fresh ref: the row is the try", human(repeatBelow), shortCaseRuns)
	w("with the median delivery time (below), with the most upstream requests and the highest peak RSS")
	w("of any try; the loopback limit's cases are repeated the same way.")
	w("")
	w("| Size | N | Config | Upstream | p50 | p90 | p99 | max | TTFB p50 | TTFB p99 | Single | p99 / single | Peak RSS | Answers |")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, row := range r.stampede {
		s := row.Summary
		answers := s.StatusLine()
		if s.Bodies > 1 {
			answers += fmt.Sprintf(", %d different bodies", s.Bodies)
		}
		w("| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %.2f | %s | %s |", human(row.Size), row.N, row.Target,
			row.Upstream, ms(s.Latency.P50), ms(s.Latency.P90), ms(s.Latency.P99), ms(s.Latency.Max),
			ms(s.TTFB.P50), ms(s.TTFB.P99), ms(row.Single), ratio(s.Latency.P99, row.Single), human(row.PeakRSS), answers)
	}
	w("")
}

func (r *report) distinctTable(w func(string, ...any)) {
	w("## 2. Distinct")
	w("")
	w("%d clients GET %d different %s refs per round (every request a different ref, nothing to", r.opts.distinctConcurrency, r.opts.distinctRequests, human(r.opts.distinctSize))
	w("share); %d rounds per configuration after an unreported warm-up. Figures are the median over", r.opts.distinctRounds)
	w("rounds; *vs A* is the median over rounds of the ratio to A's figure in the same round (in each")
	w("round A and B run back to back, which first alternating, then the others): this machine's speed")
	w("drifts by tens of percent within a minute. Run once with the simulator answering at once (the")
	w("worst case for a proxy's own overhead) and once with a Bee-like latency.")
	w("")
	w("| Bee latency | Config | Throughput | vs A | p50 | vs A | p90 | p99 | Answers (per round) |")
	w("|---|---|---|---|---|---|---|---|---|")
	for _, row := range r.distinct {
		a := r.distinctRow(row.Latency, "A")
		var statuses []string
		for _, s := range row.Rounds {
			statuses = append(statuses, s.StatusLine())
		}
		tp := row.median(throughput)
		p50 := time.Duration(row.median(latencyP50))
		p90 := time.Duration(row.median(func(s loadgen.Summary) float64 { return float64(s.Latency.P90) }))
		p99 := time.Duration(row.median(func(s loadgen.Summary) float64 { return float64(s.Latency.P99) }))
		vsT, vsL := 0.0, 0.0
		if a != nil {
			vsT, _, _ = pairedRatio(&row, a, throughput)
			vsL, _, _ = pairedRatio(&row, a, latencyP50)
		}
		w("| %v | %s | %.0f req/s | %.3f | %s | %.3f | %s | %s | %s |", row.Latency, row.Target, tp, vsT, ms(p50), vsL, ms(p90), ms(p99), strings.Join(statuses, "; "))
	}
	w("")
}

func (r *report) uploadsTable(w func(string, ...any)) {
	w("## 3. Uploads")
	w("")
	w("Sequential uploads (`POST /bytes`, distinct content), %d of %s and %d of %s per mode, the", r.opts.smallUploads, human(int64(r.opts.smallSize)),
		r.opts.uploads, human(int64(r.opts.uploadSize)))
	w("modes interleaved so that upload i of every mode runs back to back. *Explicit* sends a batch")
	w("acquired from B's pool in `Swarm-Postage-Batch-Id`; *injected* sends none and B injects one of")
	w("its depth-22 batches.")
	w("")
	w("| Size | Mode | p50 | p90 | p99 | mean | Answers |")
	w("|---|---|---|---|---|---|---|")
	for _, u := range r.uploads {
		s := u.Summary
		w("| %s | %s | %s | %s | %s | %s | %s |", human(int64(u.Size)), u.Mode, ms(s.Latency.P50), ms(s.Latency.P90), ms(s.Latency.P99), ms(u.Mean), s.StatusLine())
	}
	w("")
	w("Injection overhead is the median over i of (injected upload i - explicit upload i), with a")
	w("distribution-free 95%% confidence interval for that median (order statistics); the noise floor")
	w("is the same paired figure between B's and A's explicit uploads, two paths that do the same work")
	w("but for the bee handler's pass-through. A small upload resolves tens of microseconds; a 1 MiB")
	w("upload's latency varies by more than the overhead on a shared machine, but shows what grows")
	w("with the body (the replay copy of its first MiB). The injector's own CPU per upload, without")
	w("the network: `go test -run '^$' -bench BenchmarkInjectedUpload ./internal/inject`.")
	w("")
	w("| Size | Injection overhead (paired median) | 95%% CI | Noise floor: B explicit - A explicit | 95%% CI | p50s differ by | means differ by |")
	w("|---|---|---|---|---|---|---|")
	for _, e := range r.injectionEstimates() {
		inj, exp := r.uploadOf("B injected", e.Size), r.uploadOf("B explicit", e.Size)
		w("| %s | %s | %s..%s | %s | %s..%s | %s | %s |", human(int64(e.Size)), signed(e.Overhead.Median), signed(e.Overhead.Low), signed(e.Overhead.High),
			signed(e.Floor.Median), signed(e.Floor.Low), signed(e.Floor.High),
			signed(inj.Summary.Latency.P50-exp.Summary.Latency.P50), signed(inj.Mean-exp.Mean))
	}
	w("")
}

func (r *report) acquireTable(w func(string, ...any)) {
	a := r.acquire
	w("## 4. Acquire")
	w("")
	w("`POST /api/v1/pool/acquire {\"size\":\"large\"}` through B, with a reserve of %d large batches.", r.opts.reserve)
	w("*Concurrent*: %d clients at once (keep-alive connections), %d acquires in %d waves of one", acquireClients, a.Concurrent.Requests, a.Waves)
	w("reserve each, so every acquire finds a batch; the reserve is refilled between waves, and the")
	w("replacement purchases of a wave write the ledger while its acquires do. *Ledger writes* counts")
	w("the ledger's fence increments while the waves ran (group commit: several acquires per write).")
	w("*Sequential*: %d acquires by one client, each against a full reserve after a pause;", r.opts.acquires)
	w("*replacement* is the time from sending the acquire to the simulator receiving the replacement")
	w("purchase (`POST /stamps`), polled every 200 µs.")
	w("")
	w("| | p50 | p90 | p99 | max | Answers |")
	w("|---|---|---|---|---|---|")
	c := a.Concurrent
	w("| Acquire, %d concurrent clients | %s | %s | %s | %s | %s; %d ledger writes (%.2f per acquire), ledger %s at the end |", acquireClients,
		ms(c.Latency.P50), ms(c.Latency.P90), ms(c.Latency.P99), ms(c.Latency.Max), c.StatusLine(), a.LedgerWrites, a.WritesPerAcquire(), human(a.LedgerBytes))
	s := a.Summary
	w("| Acquire, sequential | %s | %s | %s | %s | %s |", ms(s.Latency.P50), ms(s.Latency.P90), ms(s.Latency.P99), ms(s.Latency.Max), s.StatusLine())
	w("| Acquire -> replacement purchase | %s | %s | %s | %s | %d not seen within 5 s |", ms(a.Replacement.P50), ms(a.Replacement.P90), ms(a.Replacement.P99), ms(a.Replacement.Max), a.Missed)
	w("")
}

func signed(d time.Duration) string {
	if d < 0 {
		return "-" + ms(-d)
	}
	return "+" + ms(d)
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
