package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/cors"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

// BenchmarkServeUnshared is the bee handler's own cost on a download that shares nothing
// (every path a distinct /bytes reference, answered with an ETag as Bee does), with the
// default CORS policy and coalescing on, against next alone: compare allocs/op and ns/op.
// "bee+cache" adds the default content cache; the references are not the bodies' real
// addresses, as with the distinct workload of cmd/benchrun.
func BenchmarkServeUnshared(b *testing.B) {
	body := make([]byte, 4<<10)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("ETag", `"`+r.URL.Path[len("/bytes/"):]+`"`)
		w.WriteHeader(http.StatusOK) // as reverse_proxy does
		_, err := w.Write(body)
		return err
	})
	policy, err := cors.New([]string{"*"}, cors.BeeRequestHeaders, cors.BeeResponseHeaders)
	if err != nil {
		b.Fatal(err)
	}
	h := &Handler{APIPrefix: routepolicy.DefaultAPIPrefix, beeCORS: policy, logger: zap.NewNop(),
		coalescer: coalesce.New(coalesce.Options{Observer: beemetrics.Coalescer{}})}
	c, err := cache.New(cache.Options{Memory: cache.DefaultMemory})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	reqs := make([]*http.Request, 1<<16)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, fmt.Sprintf("http://gw.example/bytes/%064x", i), nil)
		reqs[i].Header.Set("Accept-Encoding", "gzip")
		reqs[i].Header.Set("User-Agent", "bee-js/9")
	}
	for _, mode := range []string{"next", "bee", "bee+cache"} {
		b.Run(mode, func(b *testing.B) {
			h.cache = nil
			if mode == "bee+cache" {
				h.cache = c
			}
			h.provisionRequestPath(routepolicy.Gateway) // the routes take the cache in use
			w := &benchWriter{header: http.Header{}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				clear(w.header)
				r := reqs[i%len(reqs)]
				i++
				var err error
				if mode == "next" {
					err = next.ServeHTTP(w, r)
				} else {
					err = h.ServeHTTP(w, r, next)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchWriter discards the body and, like net/http's writer, takes write deadlines.
type benchWriter struct{ header http.Header }

func (w *benchWriter) Header() http.Header              { return w.header }
func (w *benchWriter) WriteHeader(int)                  {}
func (w *benchWriter) Write(p []byte) (int, error)      { return len(p), nil }
func (w *benchWriter) SetWriteDeadline(time.Time) error { return nil }
