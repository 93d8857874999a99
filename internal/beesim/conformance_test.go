package beesim

import (
	"bytes"
	crand "crypto/rand"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

// Every row of BEE_API.md's upload-failure table, with Bee's exact status and body.
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
