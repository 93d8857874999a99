package cache

import (
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkZipfAdmission replays cmd/benchrun's Zipf workload (1000 refs of log-uniform
// sizes, s = 1.1), scaled down 64 times in bytes, serially through the cache: what it costs
// (bytes copied and hashed for admission) against what it saves (hits, Bee bytes). The
// custom metrics are the point, not ns/op.
func BenchmarkZipfAdmission(b *testing.B) {
	const refs, requests, scale = 1000, 20000, 64
	rng := rand.New(rand.NewPCG(16, 16))
	bodies := make([][]byte, refs)
	keys := make([]string, refs)
	for i := range bodies {
		f := math.Log(4<<10) + rng.Float64()*(math.Log(10<<20)-math.Log(4<<10))
		body, ref := content(b, max(int(math.Exp(f))/scale, 64), uint64(i))
		bodies[i], keys[i] = body, "/bytes/"+ref
	}
	zf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, refs-1)
	seq := make([]int, requests)
	for i := range seq {
		seq[i] = int(zf.Uint64())
	}
	for b.Loop() {
		c, err := New(Options{Memory: (256 << 20) / scale})
		if err != nil {
			b.Fatal(err)
		}
		var beeBytes int64
		for _, i := range seq {
			if h, ok := c.Get(keys[i]); ok {
				h.Body.Close()
				c.Served(h.Tier, h.Meta.Size)
				continue
			}
			c.Missed()
			beeBytes += int64(len(bodies[i]))
			tg, _ := Classify("GET", keys[i], "", http.Header{})
			rec := NewRecorder(httptest.NewRecorder(), c, tg, "GET")
			rec.Header().Set("Content-Length", strconv.Itoa(len(bodies[i])))
			rec.Header().Set("ETag", `"`+tg.Ref+`"`)
			rec.WriteHeader(200)
			rec.Write(bodies[i])
			recorded := rec.recording
			before := c.admitted.Load()
			rec.Finish(true)
			for recorded && c.admitted.Load() == before {
				// serial replay: the entry is in before the next request
				c.AwaitVerification(b.Context(), keys[i], 1e9)
			}
		}
		s := c.Stats()
		c.Close()
		b.ReportMetric(s.HitRate, "hit%")
		b.ReportMetric(float64(beeBytes*scale)/(1<<30), "beeGiB")
		b.ReportMetric(float64(s.Admitted), "admitted")
		b.ReportMetric(float64(c.verifiedBytes.Load()*scale)/(1<<30), "verifiedGiB")
	}
}
