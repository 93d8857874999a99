package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// zipfOptions sizes the Zipf-popularity workload (issue 16): many refs of mixed sizes,
// requested with Zipf popularity, against caches given the same memory.
type zipfOptions struct {
	refs             int
	minSize, maxSize int64
	requests         int
	concurrency      int
	latency          time.Duration
	memory           int64 // every cache's memory
}

type zipfRow struct {
	Target     string
	Name       string
	Summary    loadgen.Summary
	BeeFetches int64
	BeeBytes   int64
	PeakRSS    int64
}

// zipf runs the workload on fresh instances (cold caches, each with the same memory): plain
// reverse_proxy (A, no cache), caddy-bee with `cache { memory M }`, nginx proxy_cache with
// max_size M, Varnish with malloc M. The same request sequence goes to every one.
func (bn *bench) zipf(ps *testkit.Processes, work string, peers bool) ([]zipfRow, error) {
	z := bn.opts.zipf
	if err := bn.sim.SetDownloadLatency(0); err != nil {
		return nil, err
	}
	// Sizes log-uniform between min and max; refs under their real /bytes reference, so a
	// cache that verifies content (caddy-bee) can admit them.
	rng := rand.New(rand.NewPCG(16, 16))
	refs := make([]string, z.refs)
	sizes := make([]int64, z.refs)
	var total int64
	for i := range refs {
		f := math.Log(float64(z.minSize)) + rng.Float64()*(math.Log(float64(z.maxSize))-math.Log(float64(z.minSize)))
		sizes[i] = int64(math.Exp(f))
		ref, err := bn.sim.Synthetic(sizes[i], bn.nextSeed(), true)
		if err != nil {
			return nil, err
		}
		refs[i], total = ref, total+sizes[i]
	}
	zf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(z.refs-1))
	seq := make([]int, z.requests)
	for i := range seq {
		seq[i] = int(zf.Uint64())
	}
	bn.log("zipf: %d refs, %s in all; %d requests by %d clients; Bee latency %v; cache memory %s",
		z.refs, human(total), z.requests, z.concurrency, z.latency, human(z.memory))
	if err := bn.sim.SetDownloadLatency(z.latency); err != nil {
		return nil, err
	}

	type cfg struct {
		key, name string
		start     func() (*target, error)
	}
	mem := fmt.Sprintf("%dm", z.memory>>20)
	var adminPort int // B's admin endpoint, with -zipf-profile
	cfgs := []cfg{
		{"A", "Caddy reverse_proxy (no cache)", func() (*target, error) { return bn.a, nil }},
		{"B", "caddy-bee, cache memory " + human(z.memory), func() (*target, error) {
			port, err := testkit.FreePort()
			if err != nil {
				return nil, err
			}
			dir := filepath.Join(work, "zipf-b")
			conf := caddyfileCache(dir, port, bn.sim.URL, z.memory)
			if bn.opts.zipfProfile != "" {
				if adminPort, err = testkit.FreePort(); err != nil {
					return nil, err
				}
				conf.Admin = fmt.Sprintf("127.0.0.1:%d", adminPort)
			}
			return startCaddy(ps, bn.opts.caddyBin, "B", "caddy-bee cache", dir, conf, port)
		}},
	}
	if peers {
		cfgs = append(cfgs,
			cfg{"C", "nginx proxy_cache max_size " + human(z.memory), func() (*target, error) {
				port, err := testkit.FreePort()
				if err != nil {
					return nil, err
				}
				return startNginxSized(ps, filepath.Join(work, "zipf-nginx"), port, simHostPort(bn.sim.URL), mem)
			}},
			cfg{"D", "varnish malloc " + human(z.memory), func() (*target, error) {
				port, err := testkit.FreePort()
				if err != nil {
					return nil, err
				}
				return startVarnishSized(ps, filepath.Join(work, "zipf-varnish"), port, simHostPort(bn.sim.URL), mem)
			}})
	}
	var rows []zipfRow
	for _, c := range cfgs {
		t, err := c.start()
		if err != nil {
			if c.key == "C" || c.key == "D" {
				bn.log("zipf: %s did not start, skipped: %v", c.name, err)
				continue
			}
			return nil, err
		}
		before, err := bn.sim.Stats()
		if err != nil {
			return nil, err
		}
		rss := testkit.StartRSS(t.proc.Cmd.Process.Pid)
		var profiled chan error
		if c.key == "B" && adminPort != 0 {
			profiled = make(chan error, 1)
			go func() { profiled <- fetchProfile(adminPort, bn.opts.zipfProfile) }()
		}
		res, wall, err := loadgen.Run(bn.ctx, loadgen.Plan{
			Concurrency: z.concurrency, Total: z.requests,
			Next: func(i int) loadgen.Request { return get(t.url + "/bytes/" + refs[seq[i]]) },
		})
		peak := rss.Stop()
		if err != nil {
			return nil, err
		}
		if profiled != nil {
			if perr := <-profiled; perr != nil {
				bn.log("zipf B: CPU profile: %v", perr)
			} else {
				bn.log("zipf B: CPU profile of the first %v in %s", zipfProfileTime, bn.opts.zipfProfile)
			}
		}
		s, err := loadgen.Summarize(res, wall)
		if err != nil {
			return nil, err
		}
		after, err := bn.sim.Stats()
		if err != nil {
			return nil, err
		}
		row := zipfRow{Target: c.key, Name: c.name, Summary: s, BeeFetches: after.Downloads - before.Downloads,
			BeeBytes: after.BytesServed - before.BytesServed, PeakRSS: peak}
		rows = append(rows, row)
		bn.log("zipf %s: %.0f req/s, p50 %v p99 %v, Bee fetches %d (%s), peak RSS %s, %s", c.key, s.Throughput,
			s.Latency.P50, s.Latency.P99, row.BeeFetches, human(row.BeeBytes), human(peak), s.StatusLine())
		if c.key == "B" {
			if resp, err := loadgen.NewClient(1).Get(t.url + "/api/v1/cache"); err == nil {
				var b strings.Builder
				_, _ = io.Copy(&b, resp.Body)
				resp.Body.Close()
				bn.log("zipf B cache: %s", strings.TrimSpace(b.String()))
			}
		}
		if t != bn.a {
			t.proc.Stop(stopGrace)
		}
	}
	return rows, bn.sim.SetDownloadLatency(0)
}

func simHostPort(simURL string) string {
	return strings.TrimPrefix(strings.TrimPrefix(simURL, "http://"), "https://")
}

// caddyfileCache is caddy-bee with only its content cache sized (no pool: nothing to spend).
func caddyfileCache(dir string, port int, sim string, memory int64) testkit.Caddyfile {
	return testkit.Caddyfile{Storage: filepath.Join(dir, "storage"), Port: port, Site: fmt.Sprintf(`bee %s {
	cache {
		memory %d
	}
}`, sim, memory)}
}

func (r *report) zipfTable(w func(string, ...any)) {
	if len(r.zipf) == 0 {
		return
	}
	z := r.opts.zipf
	w("## Zipf popularity (content cache)")
	w("")
	w("%d refs of log-uniform sizes %s to %s (real /bytes references), %d GETs by %d clients in Zipf",
		z.refs, human(z.minSize), human(z.maxSize), z.requests, z.concurrency)
	w("popularity (s = 1.1), the same sequence for every configuration; Bee latency %v. Every cache starts", z.latency)
	w("cold and gets %s: caddy-bee `cache { memory }`, nginx `proxy_cache_path max_size` (a disk cache:", human(z.memory))
	w("the page cache holds its files, outside nginx's RSS), Varnish `-s malloc`. Bee fetches are the downloads")
	w("that reached the simulator.")
	w("")
	w("| Config | Bee fetches | Bee bytes | Throughput | p50 | p99 | Peak RSS | Answers |")
	w("|---|---:|---:|---:|---:|---:|---:|---|")
	for _, row := range r.zipf {
		w("| %s %s | %d | %s | %.0f req/s | %s | %s | %s | %s |", row.Target, row.Name, row.BeeFetches, human(row.BeeBytes),
			row.Summary.Throughput, ms(row.Summary.Latency.P50), ms(row.Summary.Latency.P99), human(row.PeakRSS), row.Summary.StatusLine())
	}
	w("")
}

// zipfProfileTime is how long -zipf-profile samples B's CPU from the start of its run.
const zipfProfileTime = 15 * time.Second

// fetchProfile saves a CPU profile from Caddy's admin endpoint (/debug/pprof) to path.
func fetchProfile(adminPort int, path string) error {
	return fetchProfileFor(adminPort, path, int(zipfProfileTime.Seconds()))
}

// fetchProfileFor saves a CPU profile of the given seconds from Caddy's admin endpoint.
func fetchProfileFor(adminPort int, path string, seconds int) error {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", adminPort, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin endpoint: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
