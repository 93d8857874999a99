package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// bench holds what every workload needs.
type bench struct {
	ctx     context.Context
	opts    options
	sim     testkit.SimControl
	targets []*target // A, B, then the optional peers
	a, b    *target
	seeds   int64
	log     func(format string, args ...any)
	// bStorage is B's file storage directory (its pool ledger is read for write counts).
	bStorage string
}

func (bn *bench) nextSeed() int64 { bn.seeds++; return bn.seeds }

// rotated returns the targets starting at a different one each time, so no configuration
// always runs first (or last) on a machine whose speed drifts.
func (bn *bench) rotated(i int) []*target {
	n := len(bn.targets)
	out := make([]*target, 0, n)
	for j := range n {
		out = append(out, bn.targets[(i+j)%n])
	}
	return out
}

func get(url string) loadgen.Request { return loadgen.Request{Method: http.MethodGet, URL: url} }

// --- stampede ---

type stampedeRow struct {
	Size     int64
	N        int
	Target   string
	Single   time.Duration // one request alone, same size, same configuration
	Summary  loadgen.Summary
	Upstream int64 // downloads that reached the simulator
	PeakRSS  int64
	Delivery time.Duration // first response byte to last body byte (deliveryWindow)
	Tries    int           // times the case ran (stampedeRuns); the row is the median try
	CPU      time.Duration // the proxy's user+system CPU during the try (all its processes)
}

func (bn *bench) stampede() ([]stampedeRow, error) {
	if err := bn.sim.SetDownloadLatency(bn.opts.latency); err != nil {
		return nil, err
	}
	var rows []stampedeRow
	round := 0
	for _, size := range bn.opts.sizes {
		single := map[string]time.Duration{}
		for _, t := range bn.targets {
			d, err := bn.singleLatency(t, size)
			if err != nil {
				return nil, err
			}
			single[t.key] = d
		}
		for _, n := range bn.opts.stampedeN {
			round++
			for _, t := range bn.rotated(round) {
				var tries []stampedeRow
				for try := 0; try < stampedeRuns(size); try++ {
					profile := ""
					if try == 0 && t == bn.b && t.admin != 0 && bn.opts.stampedeProfile != "" {
						profile = fmt.Sprintf("%s-%sx%d.pprof", bn.opts.stampedeProfile, strings.ReplaceAll(human(size), " ", ""), n)
					}
					row, err := bn.stampedeTry(t, size, n, single[t.key], profile)
					if err != nil {
						return nil, err
					}
					tries = append(tries, row)
				}
				row := combineStampedeTries(tries)
				s := row.Summary
				rows = append(rows, row)
				bn.log("stampede %-6s x %-4d %s: upstream %d, p50 %v p99 %v, %s, bodies %d, peak RSS %s, %s/s delivered with %v CPU (median of %d)",
					human(size), n, t.key, row.Upstream, s.Latency.P50.Round(time.Millisecond),
					s.Latency.P99.Round(time.Millisecond), s.StatusLine(), s.Bodies, human(row.PeakRSS),
					human(int64(row.rate())), row.CPU, row.Tries)
			}
		}
	}
	return rows, nil
}

// stampedeProfileSeconds is how long -stampede-profile samples B's CPU from the start of a
// try: it covers the 200 ms wait and the delivery of the largest default case.
const stampedeProfileSeconds = 6

// stampedeTry runs one try of a case: n clients at once on a fresh ref. A non-empty
// profile is where B's CPU profile of the try goes (-stampede-profile).
func (bn *bench) stampedeTry(t *target, size int64, n int, single time.Duration, profile string) (stampedeRow, error) {
	if err := bn.ctx.Err(); err != nil {
		return stampedeRow{}, err
	}
	ref, err := bn.sim.Synthetic(size, bn.nextSeed(), false)
	if err != nil {
		return stampedeRow{}, err
	}
	before, err := bn.sim.Stats()
	if err != nil {
		return stampedeRow{}, err
	}
	client, err := bn.warmClient(t, n)
	if err != nil {
		return stampedeRow{}, err
	}
	var profiled chan error
	if profile != "" {
		profiled = make(chan error, 1)
		go func() { profiled <- fetchProfileFor(t.admin, profile, stampedeProfileSeconds) }()
	}
	meter := testkit.StartRSS(t.proc.Cmd.Process.Pid)
	cpu0 := testkit.GroupCPU(t.proc.Cmd.Process.Pid)
	res, wall, err := loadgen.Run(bn.ctx, loadgen.Plan{
		Concurrency: n, Total: n, StartTogether: true, Client: client,
		Next: func(int) loadgen.Request { return get(t.url + "/bytes/" + ref) },
	})
	cpu := testkit.GroupCPU(t.proc.Cmd.Process.Pid) - cpu0
	client.CloseIdleConnections()
	peak := meter.Stop()
	if err != nil {
		return stampedeRow{}, err
	}
	if profiled != nil {
		if perr := <-profiled; perr != nil {
			return stampedeRow{}, fmt.Errorf("CPU profile of %s: %w", t.name, perr)
		}
		bn.log("stampede %s x %d B: CPU profile of the first %ds in %s", human(size), n, stampedeProfileSeconds, profile)
	}
	after, err := bn.sim.Stats()
	if err != nil {
		return stampedeRow{}, err
	}
	s, err := loadgen.Summarize(res, wall)
	if err != nil {
		return stampedeRow{}, err
	}
	return stampedeRow{Size: size, N: n, Target: t.key, Single: single, Summary: s,
		Upstream: after.Downloads - before.Downloads, PeakRSS: peak, Delivery: deliveryWindow(res), CPU: cpu}, nil
}

// warmClient opens n keep-alive connections to the target before a stampede. Opening 1000
// TCP connections on a 2-core machine takes longer than the 200 ms upstream latency, and a
// request that arrives after the flight has ended starts a new one (nothing is cached), so
// without this the "stampede" would partly be a sequence of smaller ones.
func (bn *bench) warmClient(t *target, n int) (*http.Client, error) {
	client := loadgen.NewClient(n)
	res, _, err := loadgen.Run(bn.ctx, loadgen.Plan{
		Concurrency: n, Total: n, StartTogether: true, Client: client,
		Next: func(int) loadgen.Request { return get(t.url + "/health") },
	})
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("open connections to %s: %w", t.name, r.Err)
		}
	}
	return client, nil
}

// singleLatency is the median of three lone requests for fresh content of that size.
func (bn *bench) singleLatency(t *target, size int64) (time.Duration, error) {
	client := loadgen.NewClient(1)
	var ds []time.Duration
	for range 3 {
		ref, err := bn.sim.Synthetic(size, bn.nextSeed(), false)
		if err != nil {
			return 0, err
		}
		r := loadgen.Do(bn.ctx, client, get(t.url+"/bytes/"+ref))
		if r.Err != nil || r.Status != http.StatusOK {
			return 0, fmt.Errorf("single request through %s: status %d: %v", t.name, r.Status, r.Err)
		}
		ds = append(ds, r.Latency)
	}
	slices.Sort(ds)
	return ds[1], nil
}

// --- distinct ---

type distinctRow struct {
	Latency time.Duration // the simulator's download latency
	Target  string
	Rounds  []loadgen.Summary
}

// median of a per-round figure.
func (r distinctRow) median(f func(loadgen.Summary) float64) float64 {
	vs := make([]float64, 0, len(r.Rounds))
	for _, s := range r.Rounds {
		vs = append(vs, f(s))
	}
	slices.Sort(vs)
	if len(vs) == 0 {
		return 0
	}
	return vs[len(vs)/2]
}

// distinctSection runs the distinct workload at each latency, and the profiling round after
// the first when -distinct-profile asks for it.
func (bn *bench) distinctSection() ([]distinctRow, error) {
	var out []distinctRow
	for i, lat := range bn.opts.distinctLatencies {
		rows, err := bn.distinct(lat)
		if err != nil {
			return nil, fmt.Errorf("distinct: %w", err)
		}
		out = append(out, rows...)
		if i == 0 && bn.opts.distinctProfile != "" {
			if err := bn.profileDistinct(); err != nil {
				return nil, fmt.Errorf("distinct profile: %w", err)
			}
		}
	}
	return out, nil
}

func (bn *bench) distinct(latency time.Duration) ([]distinctRow, error) {
	if err := bn.sim.SetDownloadLatency(latency); err != nil {
		return nil, err
	}
	rows := map[string]*distinctRow{}
	for _, t := range bn.targets {
		rows[t.key] = &distinctRow{Latency: latency, Target: t.key}
	}
	// A warm-up round per target opens connections and faults pages in; it is not reported.
	for round := -1; round < bn.opts.distinctRounds; round++ {
		for _, t := range distinctOrder(round+1, bn.rotated(round+1)) {
			total := bn.opts.distinctRequests
			if round < 0 {
				total = min(total, 500)
			}
			refs := make([]string, total)
			for i := range refs {
				ref, err := bn.sim.Synthetic(bn.opts.distinctSize, bn.nextSeed(), false)
				if err != nil {
					return nil, err
				}
				refs[i] = ref
			}
			cpu0 := testkit.GroupCPU(t.proc.Cmd.Process.Pid)
			res, wall, err := loadgen.Run(bn.ctx, loadgen.Plan{
				Concurrency: bn.opts.distinctConcurrency, Total: total,
				Next: func(i int) loadgen.Request { return get(t.url + "/bytes/" + refs[i]) },
			})
			cpu := testkit.GroupCPU(t.proc.Cmd.Process.Pid) - cpu0
			if err != nil {
				return nil, err
			}
			s, err := loadgen.Summarize(res, wall)
			if err != nil {
				return nil, err
			}
			if round < 0 {
				continue
			}
			rows[t.key].Rounds = append(rows[t.key].Rounds, s)
			bn.log("distinct (%v) round %d %s: %.0f req/s, p50 %v p99 %v, proxy CPU %v/req, %s", latency, round+1, t.key, s.Throughput,
				s.Latency.P50, s.Latency.P99, cpu/time.Duration(total), s.StatusLine())
		}
	}
	out := make([]distinctRow, 0, len(bn.targets))
	for _, t := range bn.targets {
		out = append(out, *rows[t.key])
	}
	return out, nil
}

func (bn *bench) acquireRequest() loadgen.Request {
	return loadgen.Request{Method: http.MethodPost, URL: bn.b.url + "/api/v1/pool/acquire",
		Header: http.Header{"Authorization": {"Bearer " + benchToken}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"size":"large"}`)}
}

func (bn *bench) acquireOne() (string, error) {
	if err := bn.waitReserve(); err != nil {
		return "", err
	}
	rq := bn.acquireRequest()
	req, err := http.NewRequestWithContext(bn.ctx, rq.Method, rq.URL, bytes.NewReader(rq.Body))
	if err != nil {
		return "", err
	}
	req.Header = rq.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		BatchID string `json:"batch_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.BatchID == "" {
		return "", fmt.Errorf("acquire: %s %v", resp.Status, err)
	}
	return out.BatchID, nil
}

// reserveTimeout bounds the wait for B's pool to buy its reserve (a purchase takes a few
// simulated blocks).
const reserveTimeout = 60 * time.Second

// waitReserve waits until B's pool holds its whole reserve of usable batches.
func (bn *bench) waitReserve() error {
	deadline := time.Now().Add(reserveTimeout)
	for time.Now().Before(deadline) {
		var st struct {
			CurrentLevels map[string]int `json:"current_levels"`
			Errors        []string       `json:"errors"`
		}
		resp, err := http.Get(bn.b.url + "/api/v1/pool/status")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if err == nil && st.CurrentLevels["22"] >= bn.opts.reserve {
			return nil
		}
		if err := bn.ctx.Err(); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the pool did not reach its reserve of %d within %v (see %s)", bn.opts.reserve, reserveTimeout, bn.b.proc.Log)
}
