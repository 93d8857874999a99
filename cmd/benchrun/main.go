// Command benchrun measures caddy-bee against plain Caddy reverse_proxy (and nginx and
// Varnish when installed) on one Bee simulator, in the same run, on loopback, and writes
// BENCHMARKS.md. `make bench` runs it; `make bench-quick` runs a small smoke version.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

type options struct {
	caddyBin, simBin, out string
	quick                 bool
	spendOnly             bool
	peers                 string
	only                  string // -only: one workload alone
	cacheOffTarget        bool
	zipfProfile           string
	stampedeProfile       string // -stampede-profile: path prefix of B's CPU profiles per stampede case
	acquireProfile        string
	distinctProfile       string

	latency   time.Duration
	sizes     []int64
	stampedeN []int

	distinctLatencies   []time.Duration
	distinctSize        int64
	distinctRequests    int
	distinctRounds      int
	distinctConcurrency int

	uploads      int // per mode, of uploadSize
	uploadSize   int
	smallUploads int // per mode, of smallUploadSize: resolves injection's overhead
	smallSize    int

	acquires           int // sequential
	concurrentAcquires int // acquireClients at once, in waves of reserve
	reserve            int

	stalledSockets int
	stalledSize    int64
	stalledHold    time.Duration

	zipf zipfOptions
}

func main() {
	var o options
	flag.StringVar(&o.caddyBin, "caddy", "bin/caddy", "Caddy built with the plugin (make build)")
	flag.StringVar(&o.simBin, "beesim", "bin/beesim", "the Bee simulator binary (make build)")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "where to write the report")
	flag.BoolVar(&o.quick, "quick", false, "a small smoke run (seconds): tiny sizes and counts")
	flag.BoolVar(&o.spendOnly, "spend-only", false, "run only the spend-efficiency section (in-process; no binaries needed)")
	flag.StringVar(&o.peers, "peers", "auto", "auto: add nginx and Varnish when installed; none: A and B only")
	flag.DurationVar(&o.latency, "latency", 200*time.Millisecond, "simulator download latency for the stampede")
	distinctLatency := flag.String("distinct-latency", "0s,20ms", "simulator download latencies for the distinct workload, comma-separated")
	uploads := flag.Int("uploads", 0, "1 MiB uploads per mode (0: 10 with -quick, else 300)")
	smallUploads := flag.Int("small-uploads", 0, "4 KiB uploads per mode (0: 100 with -quick, else 3000)")
	acquires := flag.Int("acquires", 0, "acquires by 16 concurrent clients (0: 64 with -quick, else 1024)")
	sizes := flag.String("stampede-sizes", "", "stampede body sizes, e.g. 4KiB,1MiB,100MiB (default: the mode's); for reduced runs")
	stampedeN := flag.String("stampede-n", "", "stampede client counts, e.g. 10,100 (default: the mode's); for reduced runs")
	zipfRefs := flag.Int("zipf-refs", 0, "refs in the Zipf workload (0: 60 with -quick, else 1000)")
	zipfRequests := flag.Int("zipf-requests", 0, "requests in the Zipf workload (0: 500 with -quick, else 20000)")
	only := flag.String("only", "", "run one workload alone: stampede (with the loopback limit), zipf, distinct, uploads or acquire")
	flag.StringVar(&o.zipfProfile, "zipf-profile", "", "write a CPU profile of caddy-bee (B) during the Zipf workload to this file (B's admin endpoint is on for it)")
	flag.StringVar(&o.stampedeProfile, "stampede-profile", "", "take a CPU profile of caddy-bee (B) during the first try of each stampede case, written to <value>-<size>x<n>.pprof (B's admin endpoint is on for it)")
	flag.StringVar(&o.acquireProfile, "acquire-profile", "", "write a CPU profile of caddy-bee (B) during the concurrent acquires to this file (B's admin endpoint is on for it)")
	flag.StringVar(&o.distinctProfile, "distinct-profile", "", "after the distinct workload at its first latency, run one more round against A and B each while taking its CPU profile (admin endpoints on), written to <value>-A.pprof and <value>-B.pprof")
	flag.BoolVar(&o.cacheOffTarget, "cache-off-target", false, "add configuration E: caddy-bee as B with `cache off`, to measure the content cache's cost side by side")
	flag.Parse()
	for _, v := range strings.Split(*distinctLatency, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "benchrun: -distinct-latency %q: want durations like 0s,20ms\n", *distinctLatency)
			os.Exit(2)
		}
		o.distinctLatencies = append(o.distinctLatencies, d)
	}

	o.distinctSize = 4 << 10
	o.uploadSize, o.smallSize = 1<<20, 4<<10
	if o.quick {
		o.sizes = []int64{4 << 10, 1 << 20}
		o.stampedeN = []int{10, 50}
		o.distinctRequests, o.distinctRounds, o.distinctConcurrency = 300, 2, 8
		o.uploads, o.smallUploads, o.acquires, o.concurrentAcquires, o.reserve = 10, 100, 5, 64, 16
		o.stalledSockets, o.stalledSize, o.stalledHold = 5, 64<<20, 2*time.Second
		o.zipf = zipfOptions{refs: 60, minSize: 4 << 10, maxSize: 256 << 10, requests: 500, concurrency: 8,
			latency: 50 * time.Millisecond, memory: 4 << 20}
	} else {
		o.sizes = []int64{4 << 10, 1 << 20, 100 << 20}
		o.stampedeN = []int{10, 100, 1000}
		o.distinctRequests, o.distinctRounds, o.distinctConcurrency = 5000, 7, 32
		o.uploads, o.smallUploads, o.acquires, o.concurrentAcquires, o.reserve = 300, 3000, 100, 1024, 32
		o.stalledSockets, o.stalledSize, o.stalledHold = 30, 200<<20, 10*time.Second
		o.zipf = zipfOptions{refs: 1000, minSize: 4 << 10, maxSize: 10 << 20, requests: 20000, concurrency: 32,
			latency: 50 * time.Millisecond, memory: 256 << 20}
	}
	if *uploads > 0 {
		o.uploads = *uploads
	}
	if *smallUploads > 0 {
		o.smallUploads = *smallUploads
	}
	if *acquires > 0 {
		o.concurrentAcquires = *acquires
	}
	if err := o.overrideStampede(*sizes, *stampedeN); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(2)
	}
	if *zipfRefs > 0 {
		o.zipf.refs = *zipfRefs
	}
	if *zipfRequests > 0 {
		o.zipf.requests = *zipfRequests
	}
	switch *only {
	case "", "stampede", "zipf", "distinct", "uploads", "acquire":
	default:
		fmt.Fprintf(os.Stderr, "benchrun: -only %q: want stampede, zipf, distinct, uploads or acquire\n", *only)
		os.Exit(2)
	}
	o.only = *only
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
	rep.Duration = time.Since(start)
	if err := rep.writeCharts(o.out); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun: write charts:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(o.out, []byte(rep.markdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun: write report:", err)
		os.Exit(1)
	}
	fmt.Printf("report written to %s (%v)\n", o.out, rep.Duration.Round(time.Second))
	if failed := rep.failures(); len(failed) > 0 {
		fmt.Fprintln(os.Stderr, "benchrun: requests failed:\n  "+strings.Join(failed, "\n  "))
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (*report, error) {
	if o.spendOnly {
		return runSpendOnly(ctx, o)
	}
	for _, bin := range []*string{&o.caddyBin, &o.simBin} {
		abs, err := filepath.Abs(*bin)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("%s not found: run `make build` first, or pass -caddy/-beesim", *bin)
		}
		*bin = abs
	}
	raiseFileLimit()
	work, err := os.MkdirTemp("", "benchrun-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	ps := &testkit.Processes{}
	defer ps.StopAll(stopGrace)
	logf := func(format string, args ...any) {
		fmt.Printf("%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}

	simProc, err := ps.Start("beesim", filepath.Join(work, "beesim.out"), nil, o.simBin,
		"-listen", "127.0.0.1:0", "-block-time", benchBlockTime.String(), "-balance", "10000000",
		// Uploads need not be downloadable here; keeping them would grow the simulator's heap.
		"-max-stored-bytes", fmt.Sprint(int64(64)<<20))
	if err != nil {
		return nil, err
	}
	simURL, err := simProc.FirstLine(15 * time.Second)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(simURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the simulator printed %q, not its URL", simURL)
	}
	bn := &bench{ctx: ctx, opts: o, sim: testkit.SimControl{URL: simURL, Client: loadgen.NewClient(4)}, log: logf,
		bStorage: filepath.Join(work, "b", "storage")}

	portA, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	portB, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	confA, adminA, err := o.withAdmin(caddyfileA(filepath.Join(work, "a"), portA, simURL))
	if err != nil {
		return nil, err
	}
	confB, adminB, err := o.withAdmin(caddyfileB(filepath.Join(work, "b"), portB, simURL, o.reserve))
	if err != nil {
		return nil, err
	}
	if bn.a, err = startCaddy(ps, o.caddyBin, "A", "Caddy reverse_proxy", filepath.Join(work, "a"), confA, portA); err != nil {
		return nil, err
	}
	if bn.b, err = startCaddy(ps, o.caddyBin, "B", "caddy-bee", filepath.Join(work, "b"), confB, portB); err != nil {
		return nil, err
	}
	bn.a.admin, bn.b.admin = adminA, adminB
	bn.targets = []*target{bn.a, bn.b}
	if o.cacheOffTarget {
		portE, err := testkit.FreePort()
		if err != nil {
			return nil, err
		}
		e, err := startCaddy(ps, o.caddyBin, "E", "caddy-bee cache off", filepath.Join(work, "e"),
			caddyfileBCacheOff(filepath.Join(work, "e"), portE, simURL, o.reserve), portE)
		if err != nil {
			return nil, err
		}
		bn.targets = append(bn.targets, e)
	}
	var notes []string
	if o.peers == "auto" {
		for _, peer := range []struct {
			bin   string
			start func(*testkit.Processes, string, int, string) (*target, error)
		}{{"nginx", startNginx}, {"varnishd", startVarnish}} {
			if _, err := exec.LookPath(peer.bin); err != nil {
				notes = append(notes, fmt.Sprintf("%s is not installed: its configuration was not run (apt-get install nginx varnish).", peer.bin))
				continue
			}
			port, err := testkit.FreePort()
			if err != nil {
				return nil, err
			}
			t, err := peer.start(ps, filepath.Join(work, peer.bin), port, u.Host)
			if err != nil {
				return nil, fmt.Errorf("start %s: %w", peer.bin, err)
			}
			bn.targets = append(bn.targets, t)
		}
	}
	logf("simulator %s; %d configurations: %s", simURL, len(bn.targets), targetNames(bn.targets))
	if err := bn.waitReserve(); err != nil {
		return nil, err
	}

	rep := &report{opts: o, targets: bn.targets, notes: notes, started: time.Now()}
	switch o.only {
	case "zipf":
		if rep.zipf, err = bn.zipf(ps, work, o.peers == "auto"); err != nil {
			return nil, fmt.Errorf("zipf: %w", err)
		}
		return rep, nil
	case "distinct":
		if rep.distinct, err = bn.distinctSection(); err != nil {
			return nil, err
		}
		return rep, nil
	case "uploads":
		if rep.uploads, err = bn.uploads(); err != nil {
			return nil, fmt.Errorf("uploads: %w", err)
		}
		return rep, nil
	case "acquire":
		if rep.acquire, err = bn.acquire(); err != nil {
			return nil, fmt.Errorf("acquire: %w", err)
		}
		return rep, nil
	}
	if rep.stampede, err = bn.stampede(); err != nil {
		return nil, fmt.Errorf("stampede: %w", err)
	}
	if rep.loopback, err = bn.loopback(ps, o.caddyBin, work); err != nil {
		return nil, fmt.Errorf("loopback limit: %w", err)
	}
	if o.only == "stampede" {
		return rep, nil
	}
	if rep.distinct, err = bn.distinctSection(); err != nil {
		return nil, err
	}
	if rep.uploads, err = bn.uploads(); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	if rep.acquire, err = bn.acquire(); err != nil {
		return nil, fmt.Errorf("acquire: %w", err)
	}
	if rep.stalled, err = bn.stalled(); err != nil {
		return nil, fmt.Errorf("stalled readers: %w", err)
	}
	if rep.spend, err = o.spendBench(ctx, logf); err != nil {
		return nil, fmt.Errorf("spend: %w", err)
	}
	if rep.zipf, err = bn.zipf(ps, work, o.peers == "auto"); err != nil {
		return nil, fmt.Errorf("zipf: %w", err)
	}
	return rep, nil
}

func targetNames(ts []*target) string {
	var names []string
	for _, t := range ts {
		names = append(names, t.key+" = "+t.name)
	}
	return strings.Join(names, ", ")
}

// raiseFileLimit lifts the soft open-file limit to the hard one: a 1000-client stampede needs
// 1000 sockets here and up to 2000 in a proxy (children inherit the limit).
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
