// Command beeload sends bounded HTTP load at a gateway and reports throughput, latency and
// time-to-first-byte percentiles, status codes and errors. Given the Bee simulator's URL it
// also reports how many requests reached the simulator (the upstream request count).
//
//	beeload -url http://127.0.0.1:8080/bytes/<ref> -c 100 -n 100 -together -sim http://127.0.0.1:1633
//	beeload -url http://127.0.0.1:8080/bytes -method POST -body-size 1048576 -c 4 -n 200
package main

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

type headerFlags http.Header

func (h headerFlags) String() string { return "" }
func (h headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q: want Name: value", v)
	}
	http.Header(h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

func main() {
	headers := headerFlags{}
	url := flag.String("url", "", "target URL; a {i} in it is replaced by the request number (distinct requests)")
	method := flag.String("method", http.MethodGet, "HTTP method")
	concurrency := flag.Int("c", 10, "concurrent clients")
	total := flag.Int("n", 100, "requests in all")
	duration := flag.Duration("duration", 0, "stop after this long even if -n is not reached (0: no limit)")
	interval := flag.Duration("interval", 0, "each client waits this long between its requests (0: back to back)")
	together := flag.Bool("together", false, "release the first -c requests at the same instant (a stampede)")
	bodySize := flag.Int("body-size", 0, "send a random body of this many bytes (distinct per request)")
	sim := flag.String("sim", "", "Bee simulator URL: report the requests it received during the run")
	asJSON := flag.Bool("json", false, "print the summary as JSON")
	flag.Var(headers, "H", "request header 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "beeload: -url is required (see -h)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// A random run id, so two runs never upload the same content.
	var runID [1]byte
	_, _ = cryptorand.Read(runID[:])
	run := runID[0]
	plan := loadgen.Plan{
		Concurrency: *concurrency, Total: *total, Duration: *duration, StartTogether: *together, Pace: *interval,
		Next: func(i int) loadgen.Request {
			rq := loadgen.Request{Method: *method, URL: strings.ReplaceAll(*url, "{i}", fmt.Sprint(i)), Header: http.Header(headers)}
			if *bodySize > 0 {
				// Every chunk of every upload distinct, as real uploads are: repeated chunks
				// land in the same buckets again and fill a batch early.
				rq.Body = make([]byte, *bodySize)
				_, _ = rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24), byte(run)}).Read(rq.Body)
			}
			return rq
		},
	}
	before, err := simRequests(*sim)
	if err != nil {
		fail(err)
	}
	res, wall, err := loadgen.Run(ctx, plan)
	if err != nil {
		fail(err)
	}
	after, err := simRequests(*sim)
	if err != nil {
		fail(err)
	}
	s, err := loadgen.Summarize(res, wall)
	if err != nil {
		fail(err)
	}
	var upstream map[string]int64
	if *sim != "" {
		upstream = map[string]int64{}
		for k, v := range after {
			if d := v - before[k]; d != 0 {
				upstream[k] = d
			}
		}
	}
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(struct {
			loadgen.Summary
			UpstreamRequests map[string]int64 `json:"upstream_requests,omitempty"`
		}{s, upstream})
	} else {
		printSummary(s, upstream)
	}
	if s.Failed() > 0 {
		os.Exit(1)
	}
}

func printSummary(s loadgen.Summary, upstream map[string]int64) {
	fmt.Printf("requests     %d in %v (%.1f req/s, %.1f MiB/s)\n", s.Requests, s.Wall.Round(time.Millisecond), s.Throughput, s.BytesPerS/(1<<20))
	fmt.Printf("statuses     %s\n", s.StatusLine())
	fmt.Printf("latency      p50 %v  p90 %v  p99 %v  max %v\n", s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max)
	fmt.Printf("ttfb         p50 %v  p90 %v  p99 %v  max %v\n", s.TTFB.P50, s.TTFB.P90, s.TTFB.P99, s.TTFB.Max)
	fmt.Printf("bodies       %d distinct among 2xx answers\n", s.Bodies)
	if upstream != nil {
		// Includes the gateway's own background calls (the pool polls /stamps and /chainstate).
		fmt.Printf("upstream     %v (requests that reached the simulator, by method and route class)\n", upstream)
	}
	if s.FirstError != "" {
		fmt.Printf("first error  %s\n", s.FirstError)
	}
}

// simRequests reads the simulator's request counters (nil without a simulator).
func simRequests(sim string) (map[string]int64, error) {
	if sim == "" {
		return nil, nil
	}
	st, err := testkit.SimControl{URL: sim}.Stats()
	if err != nil {
		return nil, fmt.Errorf("read simulator stats (is -sim a Bee simulator URL?): %w", err)
	}
	return st.Requests, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "beeload:", err)
	os.Exit(1)
}
