package main

import (
	"fmt"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// distinctProfileSeconds is how long -distinct-profile samples each profiled server. Its
// round sends distinctProfileRounds rounds' worth of requests, which at 0 ms Bee latency
// end within the window; an idle process adds no CPU samples, so the profile covers the
// round and nothing else of consequence.
const (
	distinctProfileSeconds = 10
	distinctProfileRounds  = 4
)

// withAdmin turns on c's admin endpoint on a free port, for -distinct-profile and
// -acquire-profile and -stampede-profile; 0 and c unchanged when no profile is asked for.
func (o options) withAdmin(c testkit.Caddyfile) (testkit.Caddyfile, int, error) {
	if o.distinctProfile == "" && o.acquireProfile == "" && o.stampedeProfile == "" {
		return c, 0, nil
	}
	port, err := testkit.FreePort()
	if err != nil {
		return c, 0, err
	}
	c.Admin = fmt.Sprintf("127.0.0.1:%d", port)
	return c, port, nil
}

// profileDistinct runs one extra, unreported round of the distinct workload against A and
// against B, each while its CPU profile is taken through Caddy's admin endpoint
// (/debug/pprof), and writes them to <prefix>-A.pprof and <prefix>-B.pprof: B's extra
// cost per request next to plain reverse_proxy's, in the same setting as the reported rounds.
func (bn *bench) profileDistinct() error {
	prefix := strings.TrimSuffix(bn.opts.distinctProfile, ".pprof")
	for _, t := range []*target{bn.a, bn.b} {
		if t.admin == 0 {
			continue
		}
		total := distinctProfileRounds * bn.opts.distinctRequests
		refs := make([]string, total)
		for i := range refs {
			ref, err := bn.sim.Synthetic(bn.opts.distinctSize, bn.nextSeed(), false)
			if err != nil {
				return err
			}
			refs[i] = ref
		}
		path := prefix + "-" + t.key + ".pprof"
		profiled := make(chan error, 1)
		go func() { profiled <- fetchProfileFor(t.admin, path, distinctProfileSeconds) }()
		res, wall, err := loadgen.Run(bn.ctx, loadgen.Plan{
			Concurrency: bn.opts.distinctConcurrency, Total: total,
			Next: func(i int) loadgen.Request { return get(t.url + "/bytes/" + refs[i]) },
		})
		perr := <-profiled
		if err != nil {
			return err
		}
		if perr != nil {
			return fmt.Errorf("CPU profile of %s: %w", t.key, perr)
		}
		s, err := loadgen.Summarize(res, wall)
		if err != nil {
			return err
		}
		bn.log("distinct profile %s: %.0f req/s over %d requests in %v; CPU profile in %s (%ds window)",
			t.key, s.Throughput, total, wall.Round(1e6), path, distinctProfileSeconds)
	}
	return nil
}
