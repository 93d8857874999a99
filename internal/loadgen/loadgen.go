// Package loadgen sends bounded HTTP load and measures it: latency to the last body byte,
// time to the first response byte, status codes, transport errors and body checksums (so a
// stampede can prove every client got identical bytes). It is plain Go, used by cmd/beeload
// and cmd/benchrun.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// Request is one request to send. Body is sent with a Content-Length.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Plan is a bounded load: Total requests (or until Duration passes, when set) from
// Concurrency workers.
type Plan struct {
	Concurrency int
	Total       int
	Duration    time.Duration
	// Next builds request i (0 <= i < Total). It is called from worker goroutines.
	Next func(i int) Request
	// StartTogether holds every worker until all are ready, so the first Concurrency requests
	// leave at once (a stampede).
	StartTogether bool
	// Pace makes each worker wait this long between its requests (0: back to back).
	Pace time.Duration
	// Client sends the requests; nil means NewClient(Concurrency).
	Client *http.Client
}

// Result is the outcome of one request.
type Result struct {
	Status  int
	Bytes   int64
	Sum     uint32 // CRC-32C of the body
	Latency time.Duration
	TTFB    time.Duration
	Err     error // transport error, or a body shorter than its Content-Length
	Cut     bool  // interrupted by the plan's own end (Duration or the caller's ctx), not a fault
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewClient returns a client that keeps enough idle connections for the concurrency, never
// uses a proxy from the environment and never asks for compression (bytes are compared).
func NewClient(concurrency int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConns:        concurrency + 16,
			MaxIdleConnsPerHost: concurrency + 16,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		// Redirects are measured as they come: a 308 is an answer, not a hop.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run executes the plan and returns one Result per request sent, in request order.
func Run(ctx context.Context, p Plan) ([]Result, time.Duration, error) {
	if p.Concurrency < 1 || p.Total < 1 || p.Next == nil {
		return nil, 0, fmt.Errorf("loadgen: need concurrency >= 1, total >= 1 and a request builder (got %d, %d)", p.Concurrency, p.Total)
	}
	client := p.Client
	if client == nil {
		client = NewClient(p.Concurrency)
	}
	if p.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Duration)
		defer cancel()
	}
	results := make([]Result, p.Total)
	sent := make([]bool, p.Total)
	var (
		next  int
		mu    sync.Mutex
		ready sync.WaitGroup
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= p.Total || ctx.Err() != nil {
			return 0, false
		}
		i := next
		next++
		sent[i] = true
		return i, true
	}
	workers := min(p.Concurrency, p.Total)
	ready.Add(workers)
	began := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			if p.StartTogether {
				<-start
			}
			for {
				i, ok := take()
				if !ok {
					return
				}
				r := Do(ctx, client, p.Next(i))
				r.Cut = r.Err != nil && ctx.Err() != nil
				results[i] = r
				if p.Pace > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(p.Pace):
					}
				}
			}
		}()
	}
	ready.Wait()
	if p.StartTogether {
		began = time.Now()
		close(start)
	}
	wg.Wait()
	wall := time.Since(began)
	out := results[:0]
	for i := range results {
		if sent[i] {
			out = append(out, results[i])
		}
	}
	return out, wall, nil
}

// Do sends one request and reads the whole body, measuring as it goes.
func Do(ctx context.Context, client *http.Client, rq Request) Result {
	var body io.Reader
	if rq.Body != nil {
		body = bytes.NewReader(rq.Body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.Method, rq.URL, body)
	if err != nil {
		return Result{Err: fmt.Errorf("build request %s %s: %w", rq.Method, rq.URL, err)}
	}
	for k, vs := range rq.Header {
		req.Header[k] = vs
	}
	var first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))

	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Result{Latency: time.Since(began), Err: err}
	}
	defer resp.Body.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, resp.Body)
	r := Result{Status: resp.StatusCode, Bytes: n, Sum: h.Sum32(), Latency: time.Since(began)}
	if !first.IsZero() {
		r.TTFB = first.Sub(began)
	}
	switch {
	case err != nil:
		r.Err = fmt.Errorf("read body after %d bytes: %w", n, err)
	case resp.ContentLength >= 0 && n != resp.ContentLength && rq.Method != http.MethodHead:
		r.Err = fmt.Errorf("short body: %d of %d bytes", n, resp.ContentLength)
	}
	return r
}
