package coalesce

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func benchRequest(path string) *http.Request {
	r := get("http://gateway.example" + path)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("User-Agent", "bee-js/9")
	r.Header.Set("Accept", "*/*")
	r.Header.Set("Swarm-Redundancy-Strategy", "0")
	r.Header.Set("Range", "bytes=0-1023")
	return r
}

func BenchmarkKey(b *testing.B) {
	r := benchRequest("/bzz/0f3a4c1e9b8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f/index.html")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Key(r); !ok {
			b.Fatal("bypass")
		}
	}
}

// The pair below is the per-request cost with nothing to share: a plain upstream call
// against the same call through a flight with a unique key (detached goroutine, body
// copy, reader). Compare their ns/op.
func BenchmarkPassThrough4KiB(b *testing.B) {
	body := pattern(4 << 10)
	up := func(w http.ResponseWriter, r *http.Request) error { _, err := w.Write(body); return err }
	r := benchRequest("/bytes/x")
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		clear(w.header)
		if err := up(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUniqueKeys4KiB(b *testing.B) {
	body := pattern(4 << 10)
	up := func(w http.ResponseWriter, r *http.Request) error { _, err := w.Write(body); return err }
	g := New(Options{})
	reqs := make([]*http.Request, 1024)
	for i := range reqs {
		reqs[i] = benchRequest("/bytes/" + strconv.Itoa(i))
	}
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	i := 0
	for b.Loop() {
		clear(w.header)
		if err := g.ServeHTTP(w, reqs[i%len(reqs)], up); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkFanOut streams one 1 MiB response (half of it spilled) to N waiters; ns/op is
// per flight.
func BenchmarkFanOut(b *testing.B) {
	body := pattern(1 << 20)
	for _, n := range []int{1, 10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			g := New(Options{MemoryWindow: 512 << 10, TempDir: b.TempDir()})
			b.ReportAllocs()
			b.SetBytes(int64(len(body)) * int64(n))
			r := benchRequest("/bytes/fan")
			key, _ := Key(r)
			for b.Loop() {
				release := make(chan struct{})
				up := func(w http.ResponseWriter, r *http.Request) error {
					<-release
					for off := 0; off < len(body); off += 32 << 10 {
						if _, err := w.Write(body[off : off+32<<10]); err != nil {
							return err
						}
					}
					return nil
				}
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						if err := g.ServeHTTP(&discardWriter{header: http.Header{}}, r, up); err != nil {
							b.Error(err)
						}
					})
				}
				for g.waitersOnKey(key) < n {
					runtime.Gosched() // until every waiter joined, so all n share the flight
				}
				close(release)
				wg.Wait()
			}
		})
	}
}

// The HTTP pair: the same loopback reverse proxy with and without the Group in front,
// each request with a unique path. ns/op includes two HTTP hops.
func BenchmarkHTTPProxy(b *testing.B) {
	body := pattern(16 << 10)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body))) // as Bee sends for /bytes and /bzz
		_, _ = w.Write(body)
	}))
	defer origin.Close()
	target, _ := url.Parse(origin.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	g := New(Options{})
	for _, mode := range []string{"plain", "coalesced"} {
		b.Run(mode, func(b *testing.B) {
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if mode == "plain" {
					proxy.ServeHTTP(w, r)
					return
				}
				_ = g.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error { proxy.ServeHTTP(w, r); return nil })
			}))
			defer front.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var seq atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, front.URL+"/bytes/"+strconv.FormatInt(seq.Add(1), 10), nil)
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			})
		})
	}
}

// BenchmarkFanOutHTTP is the stampede in small: n loopback HTTP clients share one 32 MiB
// body (an 8 MiB memory window, the rest spilled) through a real net/http server, so the
// followers' bytes take the path they take in Caddy: large writes from the window and
// sendfile from the spill file. MB/s is the bytes delivered to all clients.
func BenchmarkFanOutHTTP(b *testing.B) {
	body := pattern(32 << 20)
	for _, n := range []int{10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			g := New(Options{MemoryWindow: 8 << 20, TempDir: b.TempDir()})
			var release atomic.Pointer[chan struct{}]
			up := func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				<-*release.Load()
				for off := 0; off < len(body); off += 32 << 10 { // reverse_proxy's buffer
					if _, err := w.Write(body[off : off+32<<10]); err != nil {
						return err
					}
				}
				return nil
			}
			var key atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				k, _ := Key(r)
				key.Store(k)
				if err := g.ServeHTTP(w, r, up); err != nil {
					b.Error(err)
				}
			}))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)) * int64(n))
			for b.Loop() {
				ch := make(chan struct{})
				release.Store(&ch)
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						res, err := client.Get(srv.URL + "/bytes/fan")
						if err != nil {
							b.Error(err)
							return
						}
						defer res.Body.Close()
						if got, _ := io.Copy(io.Discard, res.Body); got != int64(len(body)) {
							b.Errorf("client got %d of %d bytes", got, len(body))
						}
					})
				}
				for {
					if k, ok := key.Load().(string); ok && g.waitersOnKey(k) == n {
						break
					}
					runtime.Gosched() // until every client joined, so all n share the flight
				}
				close(ch)
				wg.Wait()
			}
		})
	}
}
