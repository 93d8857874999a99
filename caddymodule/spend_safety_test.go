package caddymodule

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// 200 anonymous uploads that Bee refuses for reasons of their own (a Swarm-Tag the node never
// issued, an ACT history it does not have) against a full pool: each gets Bee's 404 as Bee
// gave it, no batch is retired, nothing is bought. (Before: 3 such uploads emptied a reserve
// of 2, and a loop burned the hourly budget in a minute.)
func TestAnonymousRefusedUploadsNeverRetireOrBuy(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 2"))
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	// One honest upload makes a batch active; its replacement fills the reserve again.
	resp, body := post(t, gw.URL+"/bytes", []byte("honest"), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	before := getPoolStatus(t, gw, adminToken)
	purchases := sim.Stats().Purchases
	lookupsBefore := sim.Stats().Requests["GET stamps"]

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan string, n)
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			url, headers, want := gw.URL+"/bytes", map[string]string{"Swarm-Tag": strconv.Itoa(999_999 + i)}, "tag not found"
			if i%2 == 1 {
				url = gw.URL + "/bzz?name=secret.txt"
				headers = map[string]string{"Swarm-Act": "true", "Swarm-Act-History-Address": strings.Repeat("cd", 32),
					"Swarm-Postage-Batch-Id": strings.Repeat("0", 64)}
				want = "act or history entry not found"
			}
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(fmt.Sprintf("payload %d", i)))
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			buf := make([]byte, 512)
			k, _ := resp.Body.Read(buf)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(buf[:k]), want) {
				errs <- fmt.Sprintf("upload %d: %d %s", i, resp.StatusCode, buf[:k])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, b := range readLedger(t, gw) {
		require.NotEqual(t, "retired", b.State, "batch %s retired: %s", b.ID, b.RetiredReason)
	}
	after := getPoolStatus(t, gw, adminToken)
	require.Equal(t, before.CurrentLevels, after.CurrentLevels)
	require.Equal(t, before.Active["17"].BatchID, after.Active["17"].BatchID)
	require.Equal(t, purchases, sim.Stats().Purchases, "an anonymous refused upload made the pool buy")
	t.Logf("%d refused uploads: 0 retired, 0 bought, %d reads of Bee's batches meanwhile (periodic checks)",
		n, sim.Stats().Requests["GET stamps"]-lookupsBefore)
}

// A Bee that refuses every top-up (a dev node's 501) costs no budget: the hourly cap of 3
// still buys the replacement of an acquired batch after the 2 first purchases, and /status
// says what happens to the top-ups.
func TestRefusedTopUpsLeaveBudgetForReplacements(t *testing.T) {
	sim := startSimulator(t)
	sim.SetTopUpFailure(beesim.TopUpNotImplemented)
	// Batches last 25h; a min_ttl a second below makes every batch due for a top-up.
	gw := startGateway(t, poolSite(sim.URL, adminToken,
		"reserve small 2\n\t\t\tduration 24h\n\t\t\tmin_ttl 24h59m59s\n\t\t\tmax_purchases_per_hour 3\n\t\t\tcheck_interval 200ms"))
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	require.Eventually(t, func() bool { return sim.Stats().Requests["PATCH stamps"] >= 2 }, 30*time.Second, 20*time.Millisecond)
	// A top-up holds its slot while Bee is asked (a crash then must not overspend); a refusal
	// gives it back.
	var st poolStatus
	require.Eventually(t, func() bool {
		st = getPoolStatus(t, gw, adminToken)
		return st.PurchasesLastHour == 2
	}, 10*time.Second, 20*time.Millisecond, "refused top-ups were counted")
	require.True(t, containsAny(st.Errors, "top-up"), "%v", st.Errors)

	resp, body := acquire(t, gw, adminToken, `{"size":"small"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	require.EqualValues(t, 3, sim.Stats().Purchases)
	require.Zero(t, sim.Stats().TopUps)
	// Backoff per batch (1 min by default): a handful of tries, not one per 200 ms check.
	require.LessOrEqual(t, sim.Stats().Requests["PATCH stamps"], int64(6))
	t.Logf("top-ups refused: %d (501 each), purchases: %d (cap 3), /status errors: %q",
		sim.Stats().Requests["PATCH stamps"], sim.Stats().Purchases, getPoolStatus(t, gw, adminToken).Errors)
}

// A reached cap is in /status with its end, in the log once, and in Retry-After on the 409
// of /acquire and the 503 of an upload: the real wait, not "ready in a few seconds".
func TestReachedCapIsVisibleEverywhere(t *testing.T) {
	sim := startSimulator(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	gw := startGatewayWithGlobals(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t}", logFile),
		poolSite(sim.URL, adminToken, "reserve small 1\n\t\t\tmax_purchases_per_hour 1\n\t\t\tcheck_interval 100ms"))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)

	resp, body := acquire(t, gw, adminToken, `{"size":"small"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	resp, body = acquire(t, gw, adminToken, `{"size":"small"}`)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
	requireRetryAfterAbout(t, resp, time.Hour)
	require.Contains(t, string(body), "max_purchases_per_hour 1 reached")

	resp, body = post(t, gw.URL+"/bytes", []byte("hello"), nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	requireRetryAfterAbout(t, resp, time.Hour)
	require.Contains(t, string(body), "max_purchases_per_hour 1 reached")

	st := getPoolStatus(t, gw, adminToken)
	require.True(t, containsAny(st.Errors, "max_purchases_per_hour 1 reached: no purchase or top-up until "), "%v", st.Errors)

	// Many maintenance runs later, the log still holds one line about it.
	reads := sim.Stats().Requests["GET stamps"]
	require.Eventually(t, func() bool { return sim.Stats().Requests["GET stamps"] >= reads+10 }, 30*time.Second, 20*time.Millisecond)
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(raw), "pool spending blocked"), "%s", raw)
	t.Logf("409 and 503 Retry-After %s s; %d maintenance reads of Bee, 1 log line; /status errors: %q",
		resp.Header.Get("Retry-After"), sim.Stats().Requests["GET stamps"]-reads, st.Errors)
}

// A client that stalls mid-body while its upload is retried with another batch gets Bee's
// refusal after replayWait instead of hanging the request forever.
func TestRetryOfStalledUploadDoesNotHang(t *testing.T) {
	old := replayWait
	replayWait = 300 * time.Millisecond
	t.Cleanup(func() { replayWait = old })
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 2\n\t\t\timmediate_replenish off\n\t\t\tcheck_interval 1h"))
	waitPoolReserve(t, gw, adminToken, 17, 2, 60*time.Second)
	resp, body := post(t, gw.URL+"/bytes", []byte("first"), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	full := getPoolStatus(t, gw, adminToken).Active["17"].BatchID
	require.True(t, sim.FillBatch(full))

	// 600 KB announced, 5000 bytes sent: Bee refuses at the first chunk and (more than
	// 256 KiB unread) answers at once; then the client sends nothing more.
	conn, err := net.Dial("tcp", gw.Addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /bytes HTTP/1.1\r\nHost: %s\r\nContent-Length: 600000\r\n\r\n%s", gw.Addr, strings.Repeat("x", 5000))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	answer, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the stalled upload hung")
	require.Equal(t, http.StatusPaymentRequired, answer.StatusCode)
	require.Contains(t, retiredReason(t, gw, full), "402")
}

func requireRetryAfterAbout(t *testing.T, resp *http.Response, want time.Duration) {
	t.Helper()
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", resp.Header.Get("Retry-After"))
	got := time.Duration(secs) * time.Second
	require.InDelta(t, want.Seconds(), got.Seconds(), 120, "Retry-After %s, want about %s", got, want)
}

func containsAny(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}
