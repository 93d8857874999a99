package beesim

import (
	"archive/tar"
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

const blockTime = 10 * time.Millisecond

func newServer(t *testing.T, opts Options) (*Sim, string) {
	t.Helper()
	if opts.BlockTime == 0 {
		opts.BlockTime = blockTime
	}
	sim := New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func do(t *testing.T, method, url string, body []byte, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(out)
}

func amount(sim *Sim, blocks int64) *big.Int {
	return new(big.Int).Mul(sim.opts.Price, big.NewInt(blocks))
}

// Every row of docs/bee-api.md's upload-failure table, with Bee's exact status and body.
func TestUploadBatchHeaderConformance(t *testing.T) {
	sim, url := newServer(t, Options{})
	usable := sim.CreateBatch(17, amount(sim, 1_000_000), "ok", true, true)
	pending := sim.CreateBatch(17, amount(sim, 1_000_000), "pending", true, false)
	zeros := strings.Repeat("0", 64)
	cases := []struct {
		path    string
		headers []string
		status  int
		body    string
	}{
		{"/bytes", nil, 400, `{"code":400,"message":"invalid header params","reasons":[{"field":"swarm-postage-batch-id","error":"want required:"}]}`},
		{"/bzz", []string{"Swarm-Postage-Batch-Id", ""}, 400, `{"code":400,"message":"invalid header params","reasons":[{"field":"swarm-postage-batch-id","error":"want required:"}]}`},
		{"/chunks", nil, 400, `{"code":400,"message":"Either 'Swarm-Postage-Stamp' or 'Swarm-Postage-Batch-Id' header must be set in the request"}`},
		{"/soc/aa/bb?sig=00", nil, 400, `{"code":400,"message":"Either 'Swarm-Postage-Stamp' or 'Swarm-Postage-Batch-Id' header must be set in the request"}`},
		{"/bytes", []string{"Swarm-Postage-Batch-Id", "0x" + usable[2:]}, 400, `{"code":400,"message":"invalid header params","reasons":[{"field":"Swarm-Postage-Batch-Id","error":"invalid hex byte: U+0078 'x'"}]}`},
		{"/bytes", []string{"Swarm-Postage-Batch-Id", "abc"}, 400, `{"code":400,"message":"invalid header params","reasons":[{"field":"Swarm-Postage-Batch-Id","error":"odd length hex string"}]}`},
		{"/bytes", []string{"Swarm-Postage-Batch-Id", zeros}, 404, `{"code":404,"message":"batch with id not found"}`},
		{"/v1/bytes", []string{"Swarm-Postage-Batch-Id", "abcd"}, 404, `{"code":404,"message":"batch with id not found"}`},
		{"/bytes", []string{"Swarm-Postage-Batch-Id", pending}, 422, `{"code":422,"message":"batch not usable yet or does not exist"}`},
	}
	for _, c := range cases {
		status, h, body := do(t, http.MethodPost, url+c.path, []byte("data"), c.headers...)
		require.Equal(t, c.status, status, "%s %v", c.path, c.headers)
		require.JSONEq(t, c.body, body, "%s %v", c.path, c.headers)
		require.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
	}
	status, _, body := do(t, http.MethodPost, url+"/bytes", []byte("data"), "Swarm-Postage-Batch-Id", usable)
	require.Equal(t, 201, status, body)
	// The stamp wins on /chunks: its batch must be on chain; a malformed one is refused.
	chunk := append([]byte{4, 0, 0, 0, 0, 0, 0, 0}, "data"...)
	status, _, body = do(t, http.MethodPost, url+"/chunks", chunk, "Swarm-Postage-Stamp", usable+strings.Repeat("00", 81), "Swarm-Postage-Batch-Id", zeros)
	require.Equal(t, 201, status, body)
	status, _, body = do(t, http.MethodPost, url+"/chunks", chunk, "Swarm-Postage-Stamp", strings.Repeat("00", 113))
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"invalid batch id"}`, body)
	status, _, body = do(t, http.MethodPost, url+"/chunks", chunk, "Swarm-Postage-Stamp", strings.Repeat("00", 112))
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"Stamp deserialization failure"}`, body)
}

func TestStampsConformance(t *testing.T) {
	sim, url := newServer(t, Options{})
	ok := amount(sim, 20_000).String()
	status, _, body := do(t, http.MethodPost, url+"/stamps/"+ok+"/16", nil)
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"invalid path params","reasons":[{"field":"depth","error":"want min:17"}]}`, body)
	status, _, body = do(t, http.MethodPost, url+"/stamps/"+amount(sim, 17280).String()+"/17", nil)
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"insufficient amount for 24h minimum validity"}`, body)
	status, _, body = do(t, http.MethodPost, url+"/stamps/"+amount(sim, 1_000_000_000_000).String()+"/30", nil)
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"out of funds"}`, body)
	status, _, body = do(t, http.MethodGet, url+"/stamps/abcd", nil)
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"invalid path params","reasons":[{"field":"batch_id","error":"want len:32"}]}`, body)
	status, _, body = do(t, http.MethodGet, url+"/stamps/"+strings.Repeat("ab", 32), nil)
	require.Equal(t, 404, status)
	require.JSONEq(t, `{"code":404,"message":"issuer does not exist"}`, body)
	status, _, body = do(t, http.MethodGet, url+"/stamps", nil)
	require.Equal(t, 200, status)
	require.JSONEq(t, `{"stamps":[]}`, body)
	status, _, body = do(t, http.MethodGet, url+"/chainstate", nil)
	require.Equal(t, 200, status)
	var cs map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &cs))
	require.Equal(t, "24000", cs["currentPrice"])
	require.IsType(t, "", cs["totalAmount"])
}

// A bought batch is missing from /stamps, then listed but not usable, then usable.
func TestChainTiming(t *testing.T) {
	sim, url := newServer(t, Options{BlockTime: 50 * time.Millisecond})
	status, _, body := do(t, http.MethodPost, url+"/stamps/"+amount(sim, 100_000).String()+"/17?label=t1", nil, "Immutable", "false")
	require.Equal(t, 201, status, body)
	var bought struct{ BatchID string }
	require.NoError(t, json.Unmarshal([]byte(body), &bought))
	_, _, list := do(t, http.MethodGet, url+"/stamps", nil)
	require.NotContains(t, list, bought.BatchID, "listed before ~4 blocks")
	status, _, body = do(t, http.MethodGet, url+"/stamps/"+bought.BatchID, nil)
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"batch not usable"}`, body)
	status, _, _ = do(t, http.MethodPost, url+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", bought.BatchID)
	require.Equal(t, 422, status)
	require.Eventually(t, func() bool {
		_, _, list := do(t, http.MethodGet, url+"/stamps", nil)
		return strings.Contains(list, bought.BatchID)
	}, 2*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		status, _, _ := do(t, http.MethodGet, url+"/stamps/"+bought.BatchID, nil)
		return status == 200
	}, 3*time.Second, 10*time.Millisecond)
	_, _, body = do(t, http.MethodGet, url+"/stamps/"+bought.BatchID, nil)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Equal(t, "t1", st["label"])
	require.Equal(t, false, st["immutableFlag"])
	require.Equal(t, true, st["usable"])
	require.IsType(t, "", st["amount"])
}

// A small immutable batch fills a bucket and answers 402; a mutable one wraps silently.
func TestBucketFillTo402(t *testing.T) {
	sim, url := newServer(t, Options{})
	immutable := sim.CreateBatch(17, amount(sim, 1_000_000), "imm", true, true)
	mutable := sim.CreateBatch(17, amount(sim, 1_000_000), "mut", false, true)
	chunk := make([]byte, 4096*64)
	var got402 bool
	for i := 0; i < 400 && !got402; i++ {
		_, _ = crand.Read(chunk) // distinct chunks: repeated ones take no new slot
		status, _, body := do(t, http.MethodPost, url+"/bytes", chunk, "Swarm-Postage-Batch-Id", immutable)
		if status == 402 {
			require.JSONEq(t, `{"code":402,"message":"batch is overissued"}`, body)
			got402 = true
		} else {
			require.Equal(t, 201, status)
		}
		status, _, _ = do(t, http.MethodPost, url+"/bytes", chunk, "Swarm-Postage-Batch-Id", mutable)
		require.Equal(t, 201, status, "a mutable batch never refuses")
	}
	require.True(t, got402, "a depth-17 batch never filled")
	for _, b := range sim.Batches() {
		if b.BatchID == immutable {
			require.EqualValues(t, 2, b.Utilization, "fullest bucket of a depth-17 batch holds 2 chunks")
		}
	}
}

// Like Bee's stamper, a chunk the batch already stamped keeps its index: uploading the same
// content again, or content made of one repeated chunk, takes no new bucket slots.
func TestRestampedChunksTakeNoNewSlot(t *testing.T) {
	sim, url := newServer(t, Options{})
	batch := sim.CreateBatch(17, amount(sim, 1_000_000), "imm", true, true)
	utilization := func() uint32 {
		for _, b := range sim.Batches() {
			if b.BatchID == batch {
				return b.Utilization
			}
		}
		t.Fatal("batch gone")
		return 0
	}
	repetitive := bytes.Repeat([]byte("same chunk again "), 4096*64/17) // ~64 identical chunks
	for range 20 {
		status, _, body := do(t, http.MethodPost, url+"/bytes", repetitive, "Swarm-Postage-Batch-Id", batch)
		require.Equal(t, 201, status, body)
	}
	require.LessOrEqual(t, utilization(), uint32(2), "repeated chunks filled the batch")

	random := make([]byte, 4096*8)
	_, _ = crand.Read(random)
	for range 50 {
		status, _, body := do(t, http.MethodPost, url+"/bytes", random, "Swarm-Postage-Batch-Id", batch)
		require.Equal(t, 201, status, "the same upload again never overissues: %s", body)
	}
}

func TestTTLExpiry(t *testing.T) {
	sim, url := newServer(t, Options{BlockTime: 5 * time.Millisecond})
	// CreateBatch skips the 24 h minimum, so a batch can run out within the test.
	id := sim.CreateBatch(17, amount(sim, 14+60), "short", true, true)
	status, _, _ := do(t, http.MethodPost, url+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	require.Eventually(t, func() bool {
		status, _, _ := do(t, http.MethodPost, url+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", id)
		return status == 404
	}, 5*time.Second, 20*time.Millisecond, "an expired batch must disappear")
}

func TestDownloadsLikeBee(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "dl", true, true)
	data := bytes.Repeat([]byte("0123456789"), 2000)
	status, _, body := do(t, http.MethodPost, url+"/bytes", data, "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	var up struct{ Reference string }
	require.NoError(t, json.Unmarshal([]byte(body), &up))
	status, _, body2 := do(t, http.MethodPost, url+"/bytes", data, "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	require.Equal(t, body, body2, "same content, same reference")

	status, h, got := do(t, http.MethodGet, url+"/bytes/"+up.Reference, nil)
	require.Equal(t, 200, status)
	require.Equal(t, string(data), got)
	require.Equal(t, `"`+up.Reference+`"`, h.Get("ETag"))
	require.Equal(t, "bytes", h.Get("Accept-Ranges"))
	status, _, got = do(t, http.MethodGet, url+"/bytes/"+up.Reference, nil, "Range", "bytes=0-4")
	require.Equal(t, 206, status)
	require.Equal(t, "01234", got)
	status, _, _ = do(t, http.MethodGet, url+"/bytes/"+up.Reference, nil, "If-None-Match", `"`+up.Reference+`"`)
	require.Equal(t, 304, status)
	status, _, got = do(t, http.MethodGet, url+"/bytes/"+strings.Repeat("cd", 32), nil)
	require.Equal(t, 404, status)
	require.JSONEq(t, `{"code":404,"message":"Not Found"}`, got)

	status, _, body = do(t, http.MethodPost, url+"/bzz?name=hello.txt", []byte("hi"), "Swarm-Postage-Batch-Id", id, "Content-Type", "text/plain")
	require.Equal(t, 201, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &up))
	req, _ := http.NewRequest(http.MethodGet, url+"/bzz/"+up.Reference, nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
	require.Equal(t, "/bzz/"+up.Reference+"/", resp.Header.Get("Location"))
	status, h, got = do(t, http.MethodGet, url+"/bzz/"+up.Reference+"/", nil)
	require.Equal(t, 200, status)
	require.Equal(t, "hi", got)
	require.Equal(t, `inline; filename="hello.txt"`, h.Get("Content-Disposition"))

	status, _, got = do(t, http.MethodGet, url+"/feeds/"+strings.Repeat("aa", 20)+"/"+strings.Repeat("bb", 32), nil)
	require.Equal(t, 404, status)
	require.JSONEq(t, `{"code":404,"message":"no update found"}`, got)
	status, _, got = do(t, http.MethodGet, url+"/gateway", nil)
	require.Equal(t, 404, status)
	require.JSONEq(t, `{"code":404,"message":"Not Found"}`, got)
	status, h, got = do(t, http.MethodDelete, url+"/bytes", nil)
	require.Equal(t, 405, status)
	require.JSONEq(t, `{"code":405,"message":"Method Not Allowed"}`, got)
	require.Equal(t, "POST", h.Get("Allow"))
}

func TestFaults(t *testing.T) {
	sim, url := newServer(t, Options{})
	ref := sim.AddSynthetic(1<<20, 1)

	sim.SetClassFault(ClassDownload, ClassFault{Status: 500})
	status, _, _ := do(t, http.MethodGet, url+"/bytes/"+ref, nil)
	require.Equal(t, 500, status)
	sim.SetClassFault(ClassDownload, ClassFault{Latency: 200 * time.Millisecond})
	start := time.Now()
	status, _, _ = do(t, http.MethodGet, url+"/bytes/"+ref, nil)
	require.Equal(t, 200, status)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	sim.ClearFaults()

	sim.SetCutAfter(1000)
	resp, err := http.Get(url + "/bytes/" + ref)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Error(t, err, "a cut download must break, not end short")
	sim.SetCutAfter(0)

	sim.SetPurchaseFailure(PurchaseBusy)
	status, _, body := do(t, http.MethodPost, url+"/stamps/"+amount(sim, 100_000).String()+"/17", nil)
	require.Equal(t, 429, status)
	require.JSONEq(t, `{"code":429,"message":"simultaneous on-chain operations not supported"}`, body)
	sim.SetPurchaseFailure("")

	sim.SetPurchaseHang(true)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	_, err = client.Post(url+"/stamps/"+amount(sim, 100_000).String()+"/17?label=hung", "", nil)
	require.Error(t, err, "the purchase must hang")
	require.Eventually(t, func() bool {
		for _, b := range sim.Batches() {
			if b.Label == "hung" {
				return true
			}
		}
		return false
	}, time.Second, 10*time.Millisecond, "a hung purchase still buys the batch")
	sim.SetPurchaseHang(false)

	sim.Restart(300 * time.Millisecond)
	status, _, body = do(t, http.MethodGet, url+"/stamps", nil)
	require.Equal(t, 503, status)
	require.JSONEq(t, `{"code":503,"message":"Node is syncing. This endpoint is unavailable. Try again later."}`, body)
	status, _, _ = do(t, http.MethodGet, url+"/health", nil)
	require.Equal(t, 200, status)
	time.Sleep(350 * time.Millisecond)
	status, _, _ = do(t, http.MethodGet, url+"/stamps", nil)
	require.Equal(t, 200, status)

	st := sim.Stats()
	require.Positive(t, st.Requests["GET download"])
	require.Positive(t, st.BytesServed)
}

// Only one on-chain operation at a time: concurrent purchases get 429.
func TestConcurrentPurchasesOneAtATime(t *testing.T) {
	sim, url := newServer(t, Options{PurchaseLatency: 200 * time.Millisecond})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := do(t, http.MethodPost, url+"/stamps/"+amount(sim, 100_000).String()+"/17", nil)
			mu.Lock()
			codes[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Equal(t, 1, codes[201], "%v", codes)
	require.Equal(t, 7, codes[429], "%v", codes)
	require.EqualValues(t, 1, sim.Stats().Purchases)
}

func postJSON(t *testing.T, url string, body []byte, headers ...string) (int, http.Header, map[string]any) {
	t.Helper()
	status, h, raw := do(t, http.MethodPost, url, body, headers...)
	var out map[string]any
	_ = json.Unmarshal([]byte(raw), &out)
	return status, h, out
}

// beeVectorData is Bee's file test data (pkg/file/testing/vector.go): byte i is i%255.
func beeVectorData(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(i % 255)
	}
	return out
}

// The same bytes give real Bee's reference: /bytes at redundancy level 0 (vectors of Bee
// v2.8.1 pkg/file/pipeline/builder tests) and at higher levels, /chunks by BMT (pkg/cac
// tests).
func TestReferencesMatchBee(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "refs", true, true)
	for _, c := range []struct {
		name    string
		body    []byte
		headers []string
		want    string
	}{
		{"hello world, level 0", []byte("hello world"), []string{"Swarm-Redundancy-Level", "0"}, "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f"},
		{"hello world, default level", []byte("hello world"), nil, "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f"},
		{"empty", nil, []string{"Swarm-Redundancy-Level", "0"}, "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526"},
		{"2 chunks", beeVectorData(4096 * 2), []string{"Swarm-Redundancy-Level", "0"}, "29a5fb121ce96194ba8b7b823a1f9c6af87e1791f824940a53b5a7efe3f790d9"},
		{"129 chunks", beeVectorData(4096 * 129), []string{"Swarm-Redundancy-Level", "0"}, "b8e1804e37a064d28d161ab5f256cc482b1423d5cd0a6b30fde7b0f51ece9199"},
		// Bee v2.8.1's default MEDIUM (reference computed by Bee's own upload pipeline, see
		// internal/swarm's TestTreeWriterBeeRedundancyVectors).
		{"2 chunks, default level", beeVectorData(4096 * 2), nil, "b39de629ad8fe147b36e3d3bc07f614fdda2d74fed306971cab96dc1d9a02ea5"},
		{"2 chunks, PARANOID", beeVectorData(4096 * 2), []string{"Swarm-Redundancy-Level", "4"}, "913e23835648c427292e4f7faa249c58c088c7a0958fcccc8cc8682b98dd4161"},
	} {
		status, _, out := postJSON(t, url+"/bytes", c.body, append([]string{"Swarm-Postage-Batch-Id", id}, c.headers...)...)
		require.Equal(t, 201, status, c.name)
		require.Equal(t, c.want, out["reference"], c.name)
		status, _, got := do(t, http.MethodGet, url+"/bytes/"+c.want, nil)
		require.Equal(t, 200, status, c.name)
		require.Equal(t, string(c.body), got, c.name)
	}

	foo := append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, "foo"...)
	status, h, out := postJSON(t, url+"/chunks", foo, "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	require.Equal(t, "2387e8e7d8a48c2a9339c97c1dc3461a9a7aa07e994c5cb8b38fd7c1b3e6ea48", out["reference"])
	require.Empty(t, h.Get("Swarm-Tag"), "/chunks answers a tag only when one was sent")
	status, h, got := do(t, http.MethodGet, url+"/chunks/2387e8e7d8a48c2a9339c97c1dc3461a9a7aa07e994c5cb8b38fd7c1b3e6ea48", nil)
	require.Equal(t, 200, status)
	require.Equal(t, string(foo), got)
	require.Equal(t, "binary/octet-stream", h.Get("Content-Type"))
	require.Empty(t, h.Get("ETag"))
	status, _, got = do(t, http.MethodGet, url+"/bytes/2387e8e7d8a48c2a9339c97c1dc3461a9a7aa07e994c5cb8b38fd7c1b3e6ea48", nil)
	require.Equal(t, 200, status)
	require.Equal(t, "foo", got)
	// The root chunk of a /bytes upload is a chunk too.
	status, _, got = do(t, http.MethodGet, url+"/chunks/92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f", nil)
	require.Equal(t, 200, status)
	require.Equal(t, "\x0b\x00\x00\x00\x00\x00\x00\x00hello world", got)
}

// /chunks: a body shorter than a span is 400, longer than a SOC is 413, and between a
// content chunk and a SOC it must be a valid SOC (else Bee's 500).
func TestChunkUploadLimits(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "limits", true, true)
	for _, c := range []struct {
		size   int
		status int
		body   string
	}{
		{7, 400, `{"code":400,"message":"insufficient data length"}`},
		{4105, 500, `{"code":500,"message":"create chunk error"}`},
		{4202, 413, `{"code":413,"message":"Request Entity Too Large"}`},
	} {
		status, _, body := do(t, http.MethodPost, url+"/chunks", make([]byte, c.size), "Swarm-Postage-Batch-Id", id)
		require.Equal(t, c.status, status, "%d bytes", c.size)
		require.JSONEq(t, c.body, body, "%d bytes", c.size)
	}
	status, _, _ := do(t, http.MethodPost, url+"/chunks", make([]byte, 4104), "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status, "a full chunk fits")
}

// SOC: Bee v2.8.1 pkg/soc/soc_test.go's signed chunk (id 0, wrapped "foo", owner
// 8d3766440f0d7b949a5e32995d09619a7f86e632) has address 9d453ebb...; a signature that does
// not recover the owner is refused with Bee's 401 "invalid chunk" (pkg/api/soc_test.go).
func TestSOCConformance(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "soc", true, true)
	owner := "8d3766440f0d7b949a5e32995d09619a7f86e632"
	socID := strings.Repeat("00", 32)
	sig := "5acd384febc133b7b245e5ddc62d82d2cded9182d2716126cd8844509af65a053deb418208027f548e3e88343af6f84a8772fb3cebc0a1833a0ea7ec0c1348311b"
	foo := append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, "foo"...)
	batch := []string{"Swarm-Postage-Batch-Id", id}
	for _, c := range []struct {
		path   string
		body   []byte
		status int
		want   string
	}{
		{"/soc/" + owner + "/" + socID, foo, 400, `{"code":400,"message":"invalid query params","reasons":[{"field":"sig","error":"want required:"}]}`},
		{"/soc/" + owner + "/" + socID + "?sig=zz", foo, 400, `{"code":400,"message":"invalid query params","reasons":[{"field":"sig","error":"invalid hex byte: U+007A 'z'"}]}`},
		{"/soc/zz/" + socID + "?sig=" + sig, foo, 400, `{"code":400,"message":"invalid path params","reasons":[{"field":"owner","error":"invalid hex byte: U+007A 'z'"}]}`},
		{"/soc/" + owner + "/" + socID + "?sig=" + sig, foo[:7], 400, `{"code":400,"message":"short chunk data"}`},
		{"/soc/" + owner + "/" + socID + "?sig=" + sig, append(foo, '!'), 401, `{"code":401,"message":"invalid chunk"}`},
		{"/soc/" + strings.Repeat("ab", 20) + "/" + socID + "?sig=" + sig, foo, 401, `{"code":401,"message":"invalid chunk"}`},
		{"/soc/" + owner + "/" + socID + "?sig=" + sig, foo, 201, `{"reference":"9d453ebb73b2fedaaf44ceddcf7a0aa37f3e3d6453fea5841c31f0ea6d61dc85"}`},
	} {
		status, _, body := do(t, http.MethodPost, url+c.path, c.body, batch...)
		require.Equal(t, c.status, status, "%s %q", c.path, c.body)
		require.JSONEq(t, c.want, body, "%s %q", c.path, c.body)
	}
	status, h, got := do(t, http.MethodGet, url+"/soc/"+owner+"/"+socID, nil)
	require.Equal(t, 200, status)
	require.Equal(t, "foo", got)
	require.Equal(t, sig, h.Get("Swarm-Soc-Signature"))
	status, _, got = do(t, http.MethodGet, url+"/soc/"+owner+"/"+strings.Repeat("11", 32), nil)
	require.Equal(t, 404, status)
	require.JSONEq(t, `{"code":404,"message":"requested chunk cannot be retrieved"}`, got)
	// The SOC is a chunk: id || signature || span || payload.
	status, _, got = do(t, http.MethodGet, url+"/chunks/9d453ebb73b2fedaaf44ceddcf7a0aa37f3e3d6453fea5841c31f0ea6d61dc85", nil)
	require.Equal(t, 200, status)
	require.Len(t, got, 32+65+8+3)
}

// Feeds: updates are SOCs of the owner with id keccak256(topic || index); GET answers the
// latest update's payload (not its span) with the index headers.
func TestFeedReadsLatestPayload(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "feed", true, true)
	key, err := secp256k1.GeneratePrivateKey()
	require.NoError(t, err)
	topic := swarm.Keccak256([]byte("beesim feed"))
	var owner [20]byte
	for i, payload := range []string{"feed payload v1", "feed payload v2"} {
		span := swarm.Span(uint64(len(payload)))
		wrapped := append(span[:], payload...)
		addr, _ := swarm.ChunkAddress(wrapped)
		updateID := swarm.FeedUpdateID(topic, uint64(i))
		var sig []byte
		sig, owner = swarm.SignSOC(key, updateID, addr)
		status, _, body := do(t, http.MethodPost, fmt.Sprintf("%s/soc/%x/%x?sig=%x", url, owner, updateID, sig), wrapped, "Swarm-Postage-Batch-Id", id)
		require.Equal(t, 201, status, body)
	}
	status, h, got := do(t, http.MethodGet, fmt.Sprintf("%s/feeds/%x/%x", url, owner, topic), nil)
	require.Equal(t, 200, status, got)
	require.Equal(t, "feed payload v2", got)
	require.Equal(t, "0000000000000001", h.Get("Swarm-Feed-Index"))
	require.Equal(t, "0000000000000002", h.Get("Swarm-Feed-Index-Next"))
	require.Equal(t, "application/octet-stream", h.Get("Content-Type"))

	// An update wrapping the root chunk of a larger upload reads back the whole content.
	big := make([]byte, 5000)
	_, _ = crand.Read(big)
	status, _, out := postJSON(t, url+"/bytes", big, "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	status, _, root := do(t, http.MethodGet, url+"/chunks/"+out["reference"].(string), nil)
	require.Equal(t, 200, status)
	rootAddr, _ := swarm.ChunkAddress([]byte(root))
	updateID := swarm.FeedUpdateID(topic, 2)
	sig, _ := swarm.SignSOC(key, updateID, rootAddr)
	status, _, body := do(t, http.MethodPost, fmt.Sprintf("%s/soc/%x/%x?sig=%x", url, owner, updateID, sig), []byte(root), "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status, body)
	status, h, got = do(t, http.MethodGet, fmt.Sprintf("%s/feeds/%x/%x", url, owner, topic), nil)
	require.Equal(t, 200, status)
	require.Equal(t, string(big), got)
	require.Equal(t, "0000000000000002", h.Get("Swarm-Feed-Index"))
}

// Malformed references, per-route 404 messages, and the header sets of HEAD, 304 and 416.
func TestDownloadErrorsAndHeaderSets(t *testing.T) {
	sim, url := newServer(t, Options{})
	ref := sim.AddContent([]byte("some content"))
	missing := strings.Repeat("cd", 32)
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/bytes/zz", 400, `{"code":400,"message":"invalid path params","reasons":[{"field":"address","error":"invalid hex byte: U+007A 'z'"}]}`},
		{"/bzz/zz/", 400, `{"code":400,"message":"invalid path params","reasons":[{"field":"address","error":"invalid hex byte: U+007A 'z'"}]}`},
		{"/chunks/zz", 400, `{"code":400,"message":"invalid path params","reasons":[{"field":"address","error":"invalid hex byte: U+007A 'z'"}]}`},
		{"/bytes/abcd", 500, `{"code":500,"message":"joiner failed"}`},
		{"/bytes/" + missing, 404, `{"code":404,"message":"Not Found"}`},
		{"/bzz/" + missing + "/", 404, `{"code":404,"message":"address not found or incorrect"}`},
		{"/chunks/" + missing, 404, `{"code":404,"message":"chunk not found"}`},
		{"/feeds/" + strings.Repeat("aa", 20) + "/" + missing, 404, `{"code":404,"message":"no update found"}`},
		{"/soc/" + strings.Repeat("aa", 20) + "/" + missing, 404, `{"code":404,"message":"requested chunk cannot be retrieved"}`},
	} {
		status, _, body := do(t, http.MethodGet, url+c.path, nil)
		require.Equal(t, c.status, status, c.path)
		require.JSONEq(t, c.body, body, c.path)
	}

	status, h, _ := do(t, http.MethodGet, url+"/bytes/"+ref, nil)
	require.Equal(t, 200, status)
	require.Equal(t, `"`+ref+`"`, h.Get("ETag"))
	require.Equal(t, "bytes", h.Get("Accept-Ranges"))
	require.NotEmpty(t, h.Get("Last-Modified"))
	require.Empty(t, h.Get("Cache-Control"))

	status, h, _ = do(t, http.MethodHead, url+"/bytes/"+ref, nil)
	require.Equal(t, 200, status)
	require.Equal(t, "12", h.Get("Content-Length"))
	for _, name := range []string{"ETag", "Accept-Ranges", "Last-Modified"} {
		require.Empty(t, h.Get(name), "HEAD carries no %s", name)
	}
	status, h, _ = do(t, http.MethodGet, url+"/bytes/"+ref, nil, "If-None-Match", `"`+ref+`"`)
	require.Equal(t, 304, status)
	require.Empty(t, h.Get("Accept-Ranges"))
	status, h, _ = do(t, http.MethodGet, url+"/bytes/"+ref, nil, "Range", "bytes=100-200")
	require.Equal(t, 416, status)
	require.Empty(t, h.Get("Accept-Ranges"))

	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPut, "/bytes/" + ref, "GET, HEAD"},
		{http.MethodGet, "/chunks", "POST"},
		{http.MethodDelete, "/soc/aa/bb", "GET, POST"},
		{http.MethodPost, "/stamps", "GET"},
		{http.MethodPost, "/stamps/" + missing, "GET, PATCH"},
	} {
		status, h, body := do(t, c.method, url+c.path, nil)
		require.Equal(t, 405, status, "%s %s", c.method, c.path)
		require.Equal(t, c.allow, h.Get("Allow"), "%s %s", c.method, c.path)
		require.JSONEq(t, `{"code":405,"message":"Method Not Allowed"}`, body)
	}
}

// Bee v2.8.1 uploads without Swarm-Redundancy-Level at MEDIUM: parity chunks and root
// replicas are stamped too, so a batch fills faster than at level 0.
func TestRedundancyLevelCountsInStamping(t *testing.T) {
	sim, url := newServer(t, Options{})
	stamped := func(id string) int {
		for _, b := range sim.Batches() {
			if b.BatchID == id {
				return b.Stamped
			}
		}
		t.Fatal("batch gone")
		return 0
	}
	data := make([]byte, 4096*3)
	_, _ = crand.Read(data)
	for _, c := range []struct {
		level string
		want  int64
	}{
		{"", swarm.ChunkCount(int64(len(data)), swarm.LevelMedium)},
		{"0", 4},
		{"1", 3 + 1 + 3 + 2}, // 3 data, 1 root, 3 parities for 3 shards, 2 replicas
		{"4", swarm.ChunkCount(int64(len(data)), swarm.LevelParanoid)},
	} {
		id := sim.CreateBatch(20, amount(sim, 1_000_000), "r"+c.level, true, true)
		status, _, body := do(t, http.MethodPost, url+"/bytes", data, "Swarm-Postage-Batch-Id", id, "Swarm-Redundancy-Level", c.level)
		require.Equal(t, 201, status, body)
		require.EqualValues(t, c.want, stamped(id), "level %q", c.level)
	}
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "bad", true, true)
	status, _, body := do(t, http.MethodPost, url+"/bytes", data, "Swarm-Postage-Batch-Id", id, "Swarm-Redundancy-Level", "5")
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"invalid header params","reasons":[{"field":"swarm-redundancy-level","error":"want redundancy level to be between 0 and 4"}]}`, body)
	status, _, body = do(t, http.MethodPost, url+"/bytes", data, "Swarm-Postage-Batch-Id", id, "Swarm-Redundancy-Level", "x")
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"invalid header params","reasons":[{"field":"Swarm-Redundancy-Level","error":"invalid syntax"}]}`, body)
}

// v2.8.1's stamp additions: utilizationRatio, minimumValidityBlocks, buckets, label PATCH,
// GET /batches/{id}; v2.8.0 has none of them and uploads at level 0.
func TestStampsV281AndV280(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(17, amount(sim, 1_000_000), "before", true, true)
	_, _, body := do(t, http.MethodGet, url+"/stamps/"+id, nil)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Contains(t, st, "utilizationRatio")
	_, _, body = do(t, http.MethodGet, url+"/chainstate", nil)
	require.Contains(t, body, `"minimumValidityBlocks":17280`)

	status, _, body := do(t, http.MethodPatch, url+"/stamps/"+id, []byte(`{"label":"after"}`))
	require.Equal(t, 200, status, body)
	require.JSONEq(t, `{"code":200,"message":"OK"}`, body)
	_, _, body = do(t, http.MethodGet, url+"/stamps/"+id, nil)
	require.Contains(t, body, `"label":"after"`)
	status, _, body = do(t, http.MethodPatch, url+"/stamps/"+id, []byte(`{"label":" "}`))
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"label is required"}`, body)

	status, _, body = do(t, http.MethodGet, url+"/batches/"+id, nil)
	require.Equal(t, 200, status, body)
	var b map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &b))
	require.Equal(t, id, b["batchID"])
	require.EqualValues(t, 17, b["depth"])
	status, _, body = do(t, http.MethodGet, url+"/batches/"+strings.Repeat("ab", 32), nil)
	require.Equal(t, 404, status)
	require.JSONEq(t, `{"code":404,"message":"batch not found"}`, body)

	status, _, _ = do(t, http.MethodPost, url+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	status, _, body = do(t, http.MethodGet, url+"/stamps/"+id+"/buckets", nil)
	require.Equal(t, 200, status)
	var buckets struct {
		Depth, BucketDepth, BucketUpperBound int
		Buckets                              []struct{ BucketID, Collisions int }
	}
	require.NoError(t, json.Unmarshal([]byte(body), &buckets))
	require.Equal(t, 17, buckets.Depth)
	require.Equal(t, 16, buckets.BucketDepth)
	require.Equal(t, 2, buckets.BucketUpperBound)
	require.Len(t, buckets.Buckets, 1<<16)
	total := 0
	for i, bk := range buckets.Buckets {
		require.Equal(t, i, bk.BucketID)
		total += bk.Collisions
	}
	require.Equal(t, 3, total, "one chunk and its two root replicas at MEDIUM")
	status, _, body = do(t, http.MethodGet, url+"/stamps/abcd/buckets", nil)
	require.Equal(t, 400, status)
	require.JSONEq(t, `{"code":400,"message":"invalid path params","reasons":[{"field":"batch_id","error":"want len:32"}]}`, body)

	old, oldURL := newServer(t, Options{BeeVersion: Version280})
	oldID := old.CreateBatch(17, amount(old, 1_000_000), "old", true, true)
	_, _, body = do(t, http.MethodGet, oldURL+"/stamps/"+oldID, nil)
	require.NotContains(t, body, "utilizationRatio")
	_, _, body = do(t, http.MethodGet, oldURL+"/chainstate", nil)
	require.NotContains(t, body, "minimumValidityBlocks")
	status, _, _ = do(t, http.MethodPatch, oldURL+"/stamps/"+oldID, []byte(`{"label":"x"}`))
	require.Equal(t, 405, status)
	status, _, _ = do(t, http.MethodGet, oldURL+"/batches/"+oldID, nil)
	require.Equal(t, 404, status)
	_, _, body = do(t, http.MethodGet, oldURL+"/health", nil)
	require.Contains(t, body, `"apiVersion":"7.4.1"`)
	// v2.8.0 uploads at level 0 by default: a 2-chunk upload has Bee's level-0 reference.
	status, _, out := postJSON(t, oldURL+"/bytes", beeVectorData(4096*2), "Swarm-Postage-Batch-Id", oldID)
	require.Equal(t, 201, status)
	require.Equal(t, "29a5fb121ce96194ba8b7b823a1f9c6af87e1791f824940a53b5a7efe3f790d9", out["reference"])
	require.Panics(t, func() { New(Options{BeeVersion: "2.7.0"}) })
}

// /bzz references equal Bee's: single files (Bee v2.8.1 pkg/api/bzz_test.go) and a tar
// collection (pkg/api/dirs_test.go). Downloads carry the file's own reference as ETag.
func TestBzzReferencesMatchBee(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "bzz", true, true)
	for _, c := range []struct{ name, ctype, want string }{
		{"my-pictures.jpeg", "image/jpeg; charset=utf-8", "4f9146b3813ccbd7ce45a18be23763d7e436ab7a3982ef39961c6f3cd4da1dcf"},
		{"simple_file.txt", "text/html; charset=utf-8", "65148cd89b58e91616773f5acea433f7b5a6274f2259e25f4893a332b74a7e28"},
	} {
		status, h, out := postJSON(t, url+"/bzz?name="+c.name, []byte("this is a simple text"), "Swarm-Postage-Batch-Id", id, "Content-Type", c.ctype)
		require.Equal(t, 201, status)
		require.Equal(t, c.want, out["reference"], c.name)
		require.Equal(t, `"`+c.want+`"`, h.Get("ETag"))
		status, h, got := do(t, http.MethodGet, url+"/bzz/"+c.want+"/", nil)
		require.Equal(t, 200, status)
		require.Equal(t, "this is a simple text", got)
		require.Equal(t, c.ctype, h.Get("Content-Type"))
		require.Equal(t, `inline; filename="`+c.name+`"`, h.Get("Content-Disposition"))
		require.Equal(t, `"`+sim.AddContent([]byte("this is a simple text"))+`"`, h.Get("ETag"), "the file's reference")
	}

	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for _, f := range []struct{ name, data string }{{"file1", "first file data"}, {"file2", "second file data"}} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data))}))
		_, _ = tw.Write([]byte(f.data))
	}
	require.NoError(t, tw.Close())
	status, h, out := postJSON(t, url+"/bzz", tarball.Bytes(), "Swarm-Postage-Batch-Id", id, "Swarm-Collection", "true", "Content-Type", "application/x-tar")
	require.Equal(t, 201, status)
	require.Equal(t, "f3312af64715d26b5e1a3dc90f012d2c9cc74a167899dab1d07cdee8c107f939", out["reference"])
	require.Empty(t, h.Get("ETag"), "a collection upload has no ETag")
	status, h, got := do(t, http.MethodGet, url+"/bzz/f3312af64715d26b5e1a3dc90f012d2c9cc74a167899dab1d07cdee8c107f939/file2", nil)
	require.Equal(t, 200, status)
	require.Equal(t, "second file data", got)
	require.Equal(t, `inline; filename="file2"`, h.Get("Content-Disposition"))
}

// HEAD of a /bzz file: Content-Length, Content-Type, Content-Disposition and the file's ETag,
// but no Accept-Ranges or Last-Modified (Bee's download handler writes headers only).
func TestBzzHead(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "head", true, true)
	status, _, out := postJSON(t, url+`/bzz?name=a"b.txt`, []byte("hello"), "Swarm-Postage-Batch-Id", id, "Content-Type", "text/plain")
	require.Equal(t, 201, status)
	status, h, _ := do(t, http.MethodHead, url+"/bzz/"+out["reference"].(string)+"/", nil)
	require.Equal(t, 200, status)
	require.Equal(t, "5", h.Get("Content-Length"))
	require.Equal(t, "text/plain", h.Get("Content-Type"))
	require.Equal(t, `inline; filename="a\"b.txt"`, h.Get("Content-Disposition"))
	require.Equal(t, `"`+sim.AddContent([]byte("hello"))+`"`, h.Get("ETag"))
	require.Empty(t, h.Get("Accept-Ranges"))
	require.Empty(t, h.Get("Last-Modified"))
}

// POST /feeds makes Bee's feed manifest (Bee v2.8.1 pkg/api/feed_test.go's reference), and
// /bzz of it serves the content the latest update points to: mutable, so Swarm-Feed-Index and
// no ETag. Website paths follow Bee: directory redirect, directory index, error document.
func TestFeedManifestAndWebsitePaths(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "site", true, true)
	status, h, out := postJSON(t, url+"/feeds/8d3766440f0d7b949a5e32995d09619a7f86e632/aabbcc", nil, "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	require.Equal(t, "891a1d1c8436c792d02fc2e8883fef7ab387eaeaacd25aa9f518be7be7856d54", out["reference"])
	require.Empty(t, h.Get("Swarm-Tag"))

	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for _, f := range []struct{ name, data string }{{"index.html", "home"}, {"docs/index.html", "docs home"}, {"404.html", "lost"}} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data))}))
		_, _ = tw.Write([]byte(f.data))
	}
	require.NoError(t, tw.Close())
	status, _, out = postJSON(t, url+"/bzz", tarball.Bytes(), "Swarm-Postage-Batch-Id", id, "Swarm-Collection", "true",
		"Swarm-Index-Document", "index.html", "Swarm-Error-Document", "404.html")
	require.Equal(t, 201, status)
	site := out["reference"].(string)
	for _, c := range []struct{ path, want string }{{"/", "home"}, {"/docs/", "docs home"}, {"/docs/index.html", "docs home"}, {"/nope", "lost"}} {
		status, h, got := do(t, http.MethodGet, url+"/bzz/"+site+c.path, nil)
		require.Equal(t, 200, status, c.path)
		require.Equal(t, c.want, got, c.path)
		require.NotEmpty(t, h.Get("ETag"), c.path)
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/bzz/"+site+"/docs", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
	require.Equal(t, "/bzz/"+site+"/docs/", resp.Header.Get("Location"))

	key, err := secp256k1.GeneratePrivateKey()
	require.NoError(t, err)
	owner := swarm.EthereumAddress(key.PubKey())
	topic := swarm.Keccak256([]byte("website"))
	status, _, out = postJSON(t, fmt.Sprintf("%s/feeds/%x/%x", url, owner, topic), nil, "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status)
	feedManifest := out["reference"].(string)
	status, _, body := do(t, http.MethodGet, url+"/bzz/"+feedManifest+"/", nil)
	require.Equal(t, 404, status)
	require.JSONEq(t, `{"code":404,"message":"no update found"}`, body)

	publish := func(index uint64, wrapped []byte) {
		addr, _ := swarm.ChunkAddress(wrapped)
		updateID := swarm.FeedUpdateID(topic, index)
		sig, _ := swarm.SignSOC(key, updateID, addr)
		status, _, body := do(t, http.MethodPost, fmt.Sprintf("%s/soc/%x/%x?sig=%x", url, owner, updateID, sig), wrapped, "Swarm-Postage-Batch-Id", id)
		require.Equal(t, 201, status, body)
	}
	// v2: the update wraps the site's root manifest chunk.
	status, _, root := do(t, http.MethodGet, url+"/chunks/"+site, nil)
	require.Equal(t, 200, status)
	publish(0, []byte(root))
	status, h, got := do(t, http.MethodGet, url+"/bzz/"+feedManifest+"/docs/", nil)
	require.Equal(t, 200, status, got)
	require.Equal(t, "docs home", got)
	require.Equal(t, "0000000000000000", h.Get("Swarm-Feed-Index"))
	require.Equal(t, "v2", h.Get("Swarm-Feed-Resolved-Version"))
	require.Empty(t, h.Get("ETag"), "feed-resolved content is mutable")
	// v1: timestamp + reference.
	siteRaw, _ := hex.DecodeString(site)
	payload := append(make([]byte, 8), siteRaw...)
	span := swarm.Span(uint64(len(payload)))
	publish(1, append(span[:], payload...))
	status, h, got = do(t, http.MethodGet, url+"/bzz/"+feedManifest+"/", nil)
	require.Equal(t, 200, status, got)
	require.Equal(t, "home", got)
	require.Equal(t, "0000000000000001", h.Get("Swarm-Feed-Index"))
	require.Equal(t, "v1", h.Get("Swarm-Feed-Resolved-Version"))
}

// Retrieval tuning headers never change a successful body; malformed ones are a 400.
func TestRetrievalHeaders(t *testing.T) {
	sim, url := newServer(t, Options{})
	ref := sim.AddContent([]byte("tuned"))
	status, _, got := do(t, http.MethodGet, url+"/bytes/"+ref, nil, "Swarm-Redundancy-Strategy", "3", "Swarm-Redundancy-Level", "4",
		"Swarm-Redundancy-Fallback-Mode", "true", "Swarm-Chunk-Retrieval-Timeout", "30s", "Swarm-Lookahead-Buffer-Size", "0", "Swarm-Cache", "false")
	require.Equal(t, 200, status)
	require.Equal(t, "tuned", got)
	for _, c := range []struct{ header, value, body string }{
		{"Swarm-Redundancy-Strategy", "x", `{"code":400,"message":"invalid header params","reasons":[{"field":"Swarm-Redundancy-Strategy","error":"invalid syntax"}]}`},
		{"Swarm-Redundancy-Level", "9", `{"code":400,"message":"invalid header params","reasons":[{"field":"swarm-redundancy-level","error":"want redundancy level to be between 0 and 4"}]}`},
		{"Swarm-Redundancy-Fallback-Mode", "maybe", `{"code":400,"message":"invalid header params","reasons":[{"field":"Swarm-Redundancy-Fallback-Mode","error":"invalid syntax"}]}`},
		{"Swarm-Chunk-Retrieval-Timeout", "soon", `{"code":400,"message":"could not parse headers"}`},
	} {
		status, _, body := do(t, http.MethodGet, url+"/bytes/"+ref, nil, c.header, c.value)
		require.Equal(t, 400, status, c.header)
		require.JSONEq(t, c.body, body, c.header)
	}
}

// Every data and intermediate chunk of a kept upload answers GET /chunks, as on Bee.
func TestEveryTreeChunkIsAChunk(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "tree", true, true)
	data := beeVectorData(4096*2 + 10)
	var chunks [][]byte
	tw := swarm.NewTreeWriter(swarm.LevelNone, func(c swarm.Chunk) error {
		chunks = append(chunks, append([]byte(nil), c.Data...))
		return nil
	})
	_, _ = tw.Write(data)
	_, err := tw.Sum()
	require.NoError(t, err)
	require.Len(t, chunks, 4, "3 data chunks and the root")
	status, _, _ := do(t, http.MethodPost, url+"/bytes", data, "Swarm-Postage-Batch-Id", id, "Swarm-Redundancy-Level", "0")
	require.Equal(t, 201, status)
	for i, c := range chunks {
		addr, _ := swarm.ChunkAddress(c)
		status, _, got := do(t, http.MethodGet, fmt.Sprintf("%s/chunks/%x", url, addr), nil)
		require.Equal(t, 200, status, "chunk %d", i)
		require.Equal(t, string(c), got, "chunk %d", i)
	}
}

// v2.8.1 tags deferred or pinned SOC uploads (Bee's soc handler rules).
func TestSOCUploadTags(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "tags", true, true)
	key, err := secp256k1.GeneratePrivateKey()
	require.NoError(t, err)
	post := func(n byte, headers ...string) http.Header {
		wrapped := []byte{1, 0, 0, 0, 0, 0, 0, 0, n}
		addr, _ := swarm.ChunkAddress(wrapped)
		socID := swarm.Keccak256([]byte{n})
		sig, owner := swarm.SignSOC(key, socID, addr)
		status, h, body := do(t, http.MethodPost, fmt.Sprintf("%s/soc/%x/%x?sig=%x", url, owner, socID, sig), wrapped, append([]string{"Swarm-Postage-Batch-Id", id}, headers...)...)
		require.Equal(t, 201, status, body)
		return h
	}
	require.Empty(t, post(1).Get("Swarm-Tag"), "direct upload: no tag")
	require.Equal(t, "42", post(2, "Swarm-Tag", "42").Get("Swarm-Tag"))
	require.Empty(t, post(3, "Swarm-Tag", "42", "Swarm-Deferred-Upload", "false").Get("Swarm-Tag"))
	require.NotEmpty(t, post(4, "Swarm-Pin", "true").Get("Swarm-Tag"))
}

// A multi-chunk single-file /bzz upload at levels 0, MEDIUM (v2.8.1's default) and PARANOID:
// references generated by running Bee v2.8.1's own code as its fileUploadHandler does (the
// file through pkg/file/pipeline/builder, then a pkg/manifest mantaray manifest saved by
// pkg/file/loadsave at the same level), over data byte i = i%255.
func TestBzzRedundancyReferencesMatchBee(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "bzz-r", true, true)
	data := beeVectorData(3*4096 + 7)
	for _, c := range []struct{ level, want string }{
		{"0", "12ce69ffcc202bbf4f3160f88e15a2f9e50d73e926475e615ab3b3e14c3c2d33"},
		{"", "98c373e72905b64846c35c51a336b083a604c3c20ca22397b8d4a7a272d15d28"},
		{"4", "63fb665c4a7ff13dd19427d026735a092fa448a6ce43454025183a15bd88b54c"},
	} {
		status, _, out := postJSON(t, url+"/bzz?name=data.bin", data, "Swarm-Postage-Batch-Id", id,
			"Content-Type", "application/octet-stream", "Swarm-Redundancy-Level", c.level)
		require.Equal(t, 201, status)
		require.Equal(t, c.want, out["reference"], "level %q", c.level)
		status, _, got := do(t, http.MethodGet, url+"/bzz/"+c.want+"/", nil)
		require.Equal(t, 200, status)
		require.Equal(t, string(data), got)
	}
}
