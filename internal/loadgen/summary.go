package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// ErrNoResults is returned by Summarize for an empty run.
var ErrNoResults = errors.New("loadgen: no requests were sent")

// Percentiles of a set of durations (nearest rank).
type Percentiles struct {
	P50, P90, P99, Max time.Duration
}

// Summary describes a run.
type Summary struct {
	Requests   int
	Errors     int            // transport errors and short bodies
	Cut        int            // requests interrupted by the run's own end (not in Errors)
	Statuses   map[int]int    // answered requests per status code
	Wall       time.Duration  // from the first request out to the last body byte in
	Throughput float64        // requests per second over Wall
	BytesPerS  float64        // body bytes per second over Wall
	Latency    Percentiles    // to the last body byte
	TTFB       Percentiles    // to the first response byte
	Bodies     int            // distinct body checksums among 2xx answers
	FirstError string         // one example, for the report
	ErrorKinds map[string]int // error messages, shortened, with counts
}

// Summarize computes the summary of a run's results.
func Summarize(results []Result, wall time.Duration) (Summary, error) {
	if len(results) == 0 {
		return Summary{}, ErrNoResults
	}
	s := Summary{Requests: len(results), Wall: wall, Statuses: map[int]int{}, ErrorKinds: map[string]int{}}
	lat := make([]time.Duration, 0, len(results))
	ttfb := make([]time.Duration, 0, len(results))
	sums := map[uint32]bool{}
	var total int64
	for _, r := range results {
		if r.Cut {
			s.Cut++
			continue
		}
		lat = append(lat, r.Latency)
		total += r.Bytes
		if r.TTFB > 0 {
			ttfb = append(ttfb, r.TTFB)
		}
		if r.Err != nil {
			s.Errors++
			if s.FirstError == "" {
				s.FirstError = r.Err.Error()
			}
			s.ErrorKinds[shorten(r.Err.Error())]++
			continue
		}
		s.Statuses[r.Status]++
		if r.Status >= 200 && r.Status < 300 {
			sums[r.Sum] = true
		}
	}
	s.Bodies = len(sums)
	if wall > 0 {
		s.Throughput = float64(len(results)) / wall.Seconds()
		s.BytesPerS = float64(total) / wall.Seconds()
	}
	s.Latency = PercentilesOf(lat)
	s.TTFB = PercentilesOf(ttfb)
	return s, nil
}

// OK counts answered requests with a 2xx status.
func (s Summary) OK() int {
	n := 0
	for code, c := range s.Statuses {
		if code >= 200 && code < 300 {
			n += c
		}
	}
	return n
}

// Failed counts requests that were not a 2xx answer: transport errors, short bodies, and
// answers with any other status. Requests cut by the run's end are not failures.
func (s Summary) Failed() int { return s.Requests - s.Cut - s.OK() }

// StatusLine lists the statuses like "200x98 503x2".
func (s Summary) StatusLine() string {
	codes := make([]int, 0, len(s.Statuses))
	for c := range s.Statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, 0, len(codes)+1)
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%dx%d", c, s.Statuses[c]))
	}
	if s.Errors > 0 {
		parts = append(parts, fmt.Sprintf("errx%d", s.Errors))
	}
	if s.Cut > 0 {
		parts = append(parts, fmt.Sprintf("cut-at-endx%d", s.Cut))
	}
	return strings.Join(parts, " ")
}

// PercentilesOf returns nearest-rank percentiles; zero for an empty set.
func PercentilesOf(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return Percentiles{
		P50: rank(sorted, 50),
		P90: rank(sorted, 90),
		P99: rank(sorted, 99),
		Max: sorted[len(sorted)-1],
	}
}

// rank is the nearest-rank percentile: the smallest value with at least p% of values <= it.
func rank(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

func shorten(msg string) string {
	// Transport errors carry addresses and ports; keep the tail that names the failure.
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 80 {
		return msg[i+2:]
	}
	if len(msg) > 80 {
		return msg[:80]
	}
	return msg
}
