package caddymodule

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmgate/caddy-bee/internal/poolapi"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

const adminToken = "test-admin-token"

type uploadResult struct {
	Reference string `json:"reference"`
}

func post(t testing.TB, url string, body []byte, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func acquire(t testing.TB, gw *gateway, token, body string) (*http.Response, []byte) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return post(t, gw.URL+"/api/v1/pool/acquire", []byte(body), h)
}

// Uploads without a batch, with an empty one and with bee-js's all-zero id get a pool batch
// and download back; Swarm-Pin is dropped; a real id from the client is never replaced.
func TestInjectionOnUploads(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 1"))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)

	for name, headers := range map[string]map[string]string{
		"no header":    nil,
		"empty header": {"Swarm-Postage-Batch-Id": ""},
		"all zeros":    {"Swarm-Postage-Batch-Id": strings.Repeat("0", 64), "Swarm-Pin": "true"},
	} {
		data := randomBytes(10_000)
		resp, body := post(t, gw.URL+"/bytes", data, headers)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s: %s", name, body)
		requireDownloadsBack(t, gw, body, data)
	}
	st := getPoolStatus(t, gw, adminToken)
	require.NotEmpty(t, st.Active["17"].BatchID, "the injected batch became the active one: %+v", st)
	require.Zero(t, sim.Stats().Pins, "Swarm-Pin must be removed from injected uploads")

	// A client's own (foreign) batch id reaches Bee untouched: Bee answers 404 for it.
	foreign := strings.Repeat("ab", 32)
	resp, body := post(t, gw.URL+"/bytes", []byte("x"), map[string]string{"Swarm-Postage-Batch-Id": foreign})
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "batch with id not found")

	// A pre-signed stamp is left alone too (inject.Wants' tests and fuzz target cover the
	// header rules): Bee judges the stamp itself, and refuses one whose batch is not on chain.
	resp, body = post(t, gw.URL+"/chunks", []byte("\x01\x00\x00\x00\x00\x00\x00\x00x"), map[string]string{"Swarm-Postage-Stamp": strings.Repeat("00", 113)})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "invalid batch id")
}

func TestGatewayAndReadinessFollowInjection(t *testing.T) {
	sim := startSimulator(t)
	sim.SetPurchaseHang(true) // nothing becomes usable
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 1"))

	resp, err := http.Get(gw.URL + "/gateway")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"gateway":true}`, string(body))

	resp, err = http.Get(gw.URL + "/readiness")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "notReady")

	// No usable batch: uploads get 503 with Retry-After, never 500.
	up, ubody := post(t, gw.URL+"/bytes", []byte("hello"), nil)
	require.Equal(t, http.StatusServiceUnavailable, up.StatusCode, "%s", ubody)
	require.NotEmpty(t, up.Header.Get("Retry-After"))
	require.Contains(t, string(ubody), `"code":503`)
}

func TestGatewayWithoutPoolIsPlainBee(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+"\n}")
	resp, err := http.Get(gw.URL + "/gateway")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "without injection /gateway is Bee's own 404")
	resp, err = http.Get(gw.URL + "/readiness")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// Without a pool nothing is injected: Bee's own 400 for a missing batch header.
	up, body := post(t, gw.URL+"/bytes", []byte("hello"), nil)
	require.Equal(t, http.StatusBadRequest, up.StatusCode, "%s", body)
	resp2, body2 := acquire(t, gw, "", `{}`)
	require.Equal(t, http.StatusServiceUnavailable, resp2.StatusCode, "%s", body2)
	require.Zero(t, sim.Stats().Purchases)
}

func TestAcquireAPI(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 2\n\t\t\treserve medium 1"))
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	waitPoolReserve(t, gw, adminToken, 20, 1, 60*time.Second)

	// Token rules.
	resp, body := acquire(t, gw, "", `{}`)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `"detail"`)
	resp, _ = acquire(t, gw, "wrong", `{}`)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Status hides batch ids without the token.
	st := getPoolStatus(t, gw, "")
	for _, a := range st.Active {
		require.Empty(t, a.BatchID)
	}

	// Bad bodies.
	for body, want := range map[string]int{
		`{"size":"huge"}`:             http.StatusUnprocessableEntity,
		`{"depth":30}`:                http.StatusUnprocessableEntity,
		`{"size":"small","depth":17}`: http.StatusUnprocessableEntity,
		`not json`:                    http.StatusUnprocessableEntity,
		`{"size":"small","extra":1}`:  http.StatusUnprocessableEntity,
		`{"size":"` + strings.Repeat("x", 5000) + `"}`: http.StatusRequestEntityTooLarge,
	} {
		resp, out := acquire(t, gw, adminToken, body)
		require.Equal(t, want, resp.StatusCode, "%.40s: %s", body, out)
		require.Contains(t, string(out), `"detail"`)
	}

	// Success, and the replacement purchase starts at once.
	before := sim.Stats().Purchases
	start := time.Now()
	resp, body = acquire(t, gw, adminToken, `{"size":"small"}`)
	elapsed := time.Since(start)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var got poolapi.AcquireResponse
	require.NoError(t, json.Unmarshal(body, &got))
	require.True(t, got.Success)
	require.Len(t, got.BatchID, 64)
	require.Equal(t, 17, got.Depth)
	require.Equal(t, "small", got.SizeName)
	require.False(t, got.FallbackUsed)
	t.Logf("acquire took %s", elapsed)
	require.Eventually(t, func() bool { return sim.Stats().Purchases > before }, 5*time.Second, 10*time.Millisecond,
		"no replacement purchase after acquire")

	// The issued batch is the client's: it uploads with it explicitly.
	up, ubody := post(t, gw.URL+"/bytes", []byte("mine"), map[string]string{"Swarm-Postage-Batch-Id": got.BatchID})
	require.Equal(t, http.StatusCreated, up.StatusCode, "%s", ubody)

	// Empty depth: 409 with Retry-After (the reserve of depth 20 is 1; take it twice quickly).
	resp, body = acquire(t, gw, adminToken, `{"depth":20}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	resp, body = acquire(t, gw, adminToken, `{"depth":20}`)
	if resp.StatusCode == http.StatusConflict {
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		require.Contains(t, string(body), `"suggestion"`)
	} else {
		// With acquire_fallback on and no larger depth configured, the only other answer is a
		// batch bought in the meantime.
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	}

	// Available and check need the token.
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v1/pool/available", nil)
	r1, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r1.Body.Close()
	require.Equal(t, http.StatusUnauthorized, r1.StatusCode)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var avail []map[string]any
	require.NoError(t, json.NewDecoder(r2.Body).Decode(&avail))
	r2.Body.Close()
	for _, b := range avail {
		require.NotEqual(t, got.BatchID, b["batch_id"], "an issued batch is listed as available")
	}
	resp, body = post(t, gw.URL+"/api/v1/pool/check", nil, map[string]string{"Authorization": "Bearer " + adminToken})
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "scheduled_at")
}

// Concurrent acquires never hand out one batch twice.
func TestConcurrentAcquiresAreUnique(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 5"))
	waitPoolReserve(t, gw, adminToken, 17, 5, 90*time.Second)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := acquire(t, gw, adminToken, `{}`)
			if resp.StatusCode != http.StatusOK {
				return
			}
			var got poolapi.AcquireResponse
			_ = json.Unmarshal(body, &got)
			mu.Lock()
			seen[got.BatchID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.NotEmpty(t, seen)
	for id, n := range seen {
		require.Equal(t, 1, n, "batch %s issued %d times", id, n)
	}
}

// Uploading until a small batch is full never fails a client: the batch is retired (Bee's 402,
// or its effective capacity used, read from its buckets at a sync) and uploads go on with a
// fresh one.
func TestFillingBatchRotatesWithoutFailedUploads(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 2\n\t\t\tusage_max 1"))
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)

	var first string
	for i := 0; i < 400; i++ {
		resp, body := post(t, gw.URL+"/bytes", randomBytes(512<<10), nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "upload %d: %s", i, body)
		id := getPoolStatus(t, gw, adminToken).Active["17"].BatchID
		if first == "" {
			first = id
		}
		// The first batch left service: the next active one is promoted by the next upload
		// (until then there is none). Stop at the first rotation: at depth 17 a fresh batch can
		// itself reach utilisation 1 within an upload or two (a bucket holds 2 chunks), so
		// going on would measure how fast replacements are mined, not the rotation.
		if first != "" && id != first {
			t.Logf("batch rotated after %d uploads of 512 KiB", i+1)
			resp, body := post(t, gw.URL+"/bytes", randomBytes(512<<10), nil)
			require.Equal(t, http.StatusCreated, resp.StatusCode, "the upload after the rotation: %s", body)
			reason := retiredReason(t, gw, first)
			t.Logf("retired because: %s", reason)
			require.True(t, strings.Contains(reason, "402") || strings.Contains(reason, "capacity"), reason)
			return
		}
	}
	t.Fatal("the small batch never filled up")
}

// Bee answers 402 for the injected batch: it is retired, and the upload (small enough to
// replay) succeeds at once with a fresh batch.
func TestRejectedBatchIsRetiredAndUploadReplayed(t *testing.T) {
	sim := startSimulator(t)
	// No replacement purchases and no periodic sync: nothing but Bee's 402 can retire the
	// filled batch here (a sync would retire it for its utilisation first).
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 3\n\t\t\timmediate_replenish off\n\t\t\tcheck_interval 1h"))
	waitPoolReserve(t, gw, adminToken, 17, 3, 60*time.Second)
	resp, body := post(t, gw.URL+"/bytes", []byte("first"), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	full := getPoolStatus(t, gw, adminToken).Active["17"].BatchID
	require.True(t, sim.FillBatch(full))

	data := randomBytes(300_000)
	resp, body = post(t, gw.URL+"/bytes", data, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "the replay with a fresh batch must succeed: %s", body)
	require.Contains(t, retiredReason(t, gw, full), "402")
	next := getPoolStatus(t, gw, adminToken).Active["17"].BatchID
	require.NotEqual(t, full, next)
	requireDownloadsBack(t, gw, body, data)

	// A body over the 1 MiB replay limit is never sent to a batch it may overflow: see
	// TestUploadTooLargeToReplayWaitsForRoom.
	require.True(t, sim.FillBatch(next))
	// A small upload goes to the oldest active batch: if that is still the full one, Bee's
	// 402 retires it and the upload is replayed (unless a sync read its buckets first).
	resp, body = post(t, gw.URL+"/bytes", randomBytes(10_000), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	reason := retiredReason(t, gw, next)
	require.True(t, strings.Contains(reason, "402") || strings.Contains(reason, "capacity"), reason)

	// The last batch takes the next upload; once it is refused too, the client gets a
	// truthful answer, not a hang or a cut.
	resp, body = post(t, gw.URL+"/bytes", randomBytes(1000), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	third := getPoolStatus(t, gw, adminToken).Active["17"].BatchID
	require.NotContains(t, []string{full, next}, third)
	require.True(t, sim.FillBatch(third))
	resp, body = post(t, gw.URL+"/bytes", randomBytes(100_000), nil)
	require.Contains(t, []int{http.StatusPaymentRequired, http.StatusServiceUnavailable}, resp.StatusCode, "%s", body)
}

// A body over the 1 MiB replay limit cannot go again after Bee's 402, so a bucket overflow
// would cut it. With `reserve small 1`, no depth-17 batch has ample room for 2 MiB: the
// client is told to retry (503, Retry-After) while the pool dilutes its active batch, and the
// retry is stored whole.
func TestUploadTooLargeToReplayWaitsForRoom(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 1"))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)
	resp, body := post(t, gw.URL+"/bytes", randomBytes(10_000), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)

	// The answer comes before the body is read, and closes the connection (unread_body.go): a
	// client sending the body at once may see a reset instead, so this one waits for 100
	// Continue first, as curl does for large bodies.
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	postBig := func(data []byte) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodPost, gw.URL+"/bytes", bytes.NewReader(data))
		require.NoError(t, err)
		req.Header.Set("Expect", "100-continue")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, out
	}
	big := randomBytes(2 << 20)
	resp, body = postBig(big)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Contains(t, string(body), "diluted to make room")
	require.Eventually(t, func() bool {
		resp, body = postBig(big)
		require.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, resp.StatusCode, "never a 402: %s", body)
		return resp.StatusCode == http.StatusCreated
	}, 30*time.Second, 50*time.Millisecond)
	requireDownloadsBack(t, gw, body, big)
	var diluted bool
	for _, a := range getPoolStatus(t, gw, adminToken).ActiveBatches {
		diluted = diluted || a.Depth > 17
	}
	require.True(t, diluted, "the active batch was diluted")
}

// requireDownloadsBack reads the reference out of an upload's answer and checks that the
// gateway serves exactly want under it.
func requireDownloadsBack(t *testing.T, gw *gateway, uploadAnswer, want []byte) {
	t.Helper()
	var res uploadResult
	require.NoError(t, json.Unmarshal(uploadAnswer, &res), "%s", uploadAnswer)
	got, err := http.Get(gw.URL + "/bytes/" + res.Reference)
	require.NoError(t, err)
	back, err := io.ReadAll(got.Body)
	got.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, got.StatusCode)
	require.Equal(t, want, back)
}

// readLedger reads the batches of the gateway's pool ledger from its storage.
func readLedger(t testing.TB, gw *gateway) []testkit.LedgerBatch {
	t.Helper()
	doc, _, err := testkit.ReadOnlyLedger(gw.Storage)
	require.NoError(t, err)
	return doc.Batches
}

// retiredReason is why the ledger says batch id was retired.
func retiredReason(t *testing.T, gw *gateway, id string) string {
	t.Helper()
	for _, b := range readLedger(t, gw) {
		if b.ID == id {
			require.Equal(t, "retired", b.State)
			return b.RetiredReason
		}
	}
	t.Fatalf("batch %s not in the ledger", id)
	return ""
}
