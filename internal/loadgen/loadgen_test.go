package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentilesNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := PercentilesOf(ds)
	assert.Equal(t, 50*time.Millisecond, p.P50)
	assert.Equal(t, 90*time.Millisecond, p.P90)
	assert.Equal(t, 99*time.Millisecond, p.P99)
	assert.Equal(t, 100*time.Millisecond, p.Max)
	assert.Equal(t, 100*time.Millisecond, ds[0], "the input is not reordered")

	one := PercentilesOf([]time.Duration{7})
	assert.Equal(t, Percentiles{7, 7, 7, 7}, one)
	assert.Equal(t, Percentiles{}, PercentilesOf(nil))

	// Nearest rank over 3 values: p50 is the 2nd, p90 and p99 the 3rd.
	three := PercentilesOf([]time.Duration{3, 1, 2})
	assert.Equal(t, Percentiles{2, 3, 3, 3}, three)
}

func TestRunCountsStatusesErrorsAndShortBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("hello"))
		case "/missing":
			http.Error(w, "no", http.StatusNotFound)
		case "/short":
			// Promise 100 bytes, send 5, then drop the connection.
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte("hello"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	}))
	defer srv.Close()
	paths := []string{"/ok", "/ok", "/missing", "/short"}
	res, wall, err := Run(context.Background(), Plan{
		Concurrency: 2, Total: len(paths),
		Next: func(i int) Request { return Request{Method: http.MethodGet, URL: srv.URL + paths[i]} },
	})
	require.NoError(t, err)
	require.Len(t, res, 4)
	s, err := Summarize(res, wall)
	require.NoError(t, err)
	assert.Equal(t, 4, s.Requests)
	assert.Equal(t, 2, s.Statuses[200])
	assert.Equal(t, 1, s.Statuses[404])
	assert.Equal(t, 1, s.Errors, "the cut body is an error, not a 200")
	assert.Equal(t, 2, s.OK())
	assert.Equal(t, 2, s.Failed())
	assert.Equal(t, 1, s.Bodies, "both 200s carried the same bytes")
	assert.Contains(t, s.FirstError, "read body")
	assert.Equal(t, "200x2 404x1 errx1", s.StatusLine())
	assert.Equal(t, res[0].Sum, res[1].Sum)
	assert.EqualValues(t, 5, res[0].Bytes)
}

func TestTTFBIsBeforeTheBodyEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(150 * time.Millisecond)
		_, _ = w.Write([]byte("late"))
	}))
	defer srv.Close()
	r := Do(context.Background(), NewClient(1), Request{Method: http.MethodGet, URL: srv.URL})
	require.NoError(t, r.Err)
	assert.Greater(t, r.TTFB, time.Duration(0))
	assert.GreaterOrEqual(t, r.Latency-r.TTFB, 100*time.Millisecond, "the body arrived ~150ms after the headers")
}

func TestStartTogetherReleasesEveryWorkerAtOnce(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == 20 {
			close(release)
		}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		inFlight.Add(-1)
	}))
	defer srv.Close()
	res, _, err := Run(context.Background(), Plan{
		Concurrency: 20, Total: 20, StartTogether: true,
		Next: func(i int) Request { return Request{Method: http.MethodGet, URL: srv.URL} },
	})
	require.NoError(t, err)
	require.Len(t, res, 20)
	assert.EqualValues(t, 20, peak.Load(), "all 20 requests were in flight together")
}

func TestRunSendsBodiesAndHeadersAndStopsAtDuration(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "yes" || r.ContentLength != 3 {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		got.Add(1)
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	res, wall, err := Run(context.Background(), Plan{
		Concurrency: 2, Total: 1_000_000, Duration: 300 * time.Millisecond,
		Next: func(i int) Request {
			return Request{Method: http.MethodPost, URL: srv.URL + "/" + strconv.Itoa(i),
				Header: http.Header{"X-Test": {"yes"}}, Body: []byte("abc")}
		},
	})
	require.NoError(t, err)
	assert.Less(t, len(res), 1000, "the duration bounded the run")
	s, err := Summarize(res, wall)
	require.NoError(t, err)
	// Requests cut by the deadline are counted apart; every answered one was a 201.
	assert.Equal(t, 0, s.Errors)
	assert.Equal(t, s.Requests-s.Cut, s.Statuses[201])
	assert.Equal(t, 0, s.Failed())
	assert.Positive(t, s.Statuses[201])
	assert.Positive(t, s.Throughput)
}

func TestRunRefusesAnEmptyPlan(t *testing.T) {
	_, _, err := Run(context.Background(), Plan{})
	require.Error(t, err)
	_, err = Summarize(nil, 0)
	require.ErrorIs(t, err, ErrNoResults)
}

func TestPaceSpacesEachWorkersRequests(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	res, _, err := Run(context.Background(), Plan{
		Concurrency: 1, Total: 1000, Duration: 500 * time.Millisecond, Pace: 100 * time.Millisecond,
		Next: func(int) Request { return Request{Method: http.MethodGet, URL: srv.URL} },
	})
	require.NoError(t, err)
	// One worker, 100 ms apart, for 500 ms: about 5 requests, never hundreds.
	assert.LessOrEqual(t, len(res), 7)
	assert.GreaterOrEqual(t, len(res), 2)
}
