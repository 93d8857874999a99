package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// switchableBee serves the simulator on a fixed address that can go down (listener and
// connections closed: connection refused) and come back on the same address.
type switchableBee struct {
	sim  *beesim.Sim
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func startSwitchableBee(t *testing.T) *switchableBee {
	b := &switchableBee{sim: beesim.New(beesim.Options{BlockTime: testBlockTime}), addr: freeAddr(t)}
	b.up(t)
	t.Cleanup(b.down)
	return b
}

func (b *switchableBee) url() string { return "http://" + b.addr }

func (b *switchableBee) up(t *testing.T) {
	var l net.Listener
	var err error
	for range 50 { // the old socket may linger a moment
		if l, err = net.Listen("tcp", b.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err)
	srv := &http.Server{Handler: b.sim.Handler()}
	go func() { _ = srv.Serve(l) }()
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
}

func (b *switchableBee) down() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// tally counts what clients saw during one fault scenario.
type tally struct {
	mu        sync.Mutex
	downloads map[int]int // status -> count, for answers whose body was complete
	dlWrong   int         // a complete 2xx answer whose bytes differ from the content: never allowed
	dlBroken  int         // answers whose body broke off: read errors, bodies shorter than announced
	connErrs  int         // requests that got no answer at all (connection refused, reset or closed)
	uploads   map[int]int
	upBodies  map[int]string // one body per upload status, for messages
	acquires  map[int]int
	acquired  []string
	errs      map[string]int // transport and read errors, by message
}

func newTally() *tally {
	return &tally{downloads: map[int]int{}, uploads: map[int]int{}, upBodies: map[int]string{}, acquires: map[int]int{}, errs: map[string]int{}}
}

func (c *tally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("downloads %v (broken %d, wrong %d); uploads %v; acquires %v; no answer %d %v",
		c.downloads, c.dlBroken, c.dlWrong, c.uploads, c.acquires, c.connErrs, c.errs)
}

// runLoad sends downloads (several clients on one ref, so they coalesce), injected uploads
// and acquires until ctx ends.
func runLoad(ctx context.Context, client *http.Client, gw *gateway, ref string, content []byte, c *tally) {
	var wg sync.WaitGroup
	worker := func(every time.Duration, do func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				do()
				select {
				case <-ctx.Done():
				case <-time.After(every):
				}
			}
		}()
	}
	for range 6 {
		worker(5*time.Millisecond, func() {
			resp, err := client.Get(gw.URL + "/bytes/" + ref)
			if err != nil {
				c.mu.Lock()
				c.connErrs++
				c.errs["download: "+err.Error()]++
				c.mu.Unlock()
				return
			}
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.mu.Lock()
			defer c.mu.Unlock()
			switch {
			case rerr != nil || (resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength):
				c.dlBroken++
				c.errs[fmt.Sprintf("download body: %v (%d of %d bytes)", rerr, len(body), resp.ContentLength)]++
			case resp.StatusCode == http.StatusOK && !bytes.Equal(body, content):
				c.dlWrong++
			default:
				c.downloads[resp.StatusCode]++
			}
		})
	}
	for range 2 {
		worker(20*time.Millisecond, func() {
			resp, err := client.Post(gw.URL+"/bytes", "application/octet-stream", bytes.NewReader(randomBytes(8<<10)))
			c.mu.Lock()
			defer c.mu.Unlock()
			if err != nil {
				c.connErrs++
				c.errs["upload: "+err.Error()]++
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.uploads[resp.StatusCode]++
			c.upBodies[resp.StatusCode] = string(body)
		})
	}
	worker(250*time.Millisecond, func() {
		req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/v1/pool/acquire", bytes.NewReader([]byte(`{"size":"small"}`)))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := client.Do(req)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.connErrs++
			c.errs["acquire: "+err.Error()]++
			return
		}
		var out struct {
			BatchID string `json:"batch_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		c.acquires[resp.StatusCode]++
		if out.BatchID != "" {
			c.acquired = append(c.acquired, out.BatchID)
		}
	})
	wg.Wait()
}

// Under load, Bee slow, failing, cut off, syncing, refusing or hanging purchases, or gone:
// the gateway answers truthfully, never hands out a batch twice, never holds more than its
// target, returns to target when Bee recovers, pays only for batches it records, and leaks
// no goroutines.
func TestFaultsUnderLoad(t *testing.T) {
	bee := startSwitchableBee(t)
	sim := bee.sim
	const target = 2
	// Cache off: the repeated download must reach Bee to meet its faults.
	gw := startGateway(t, strings.Replace(poolSite(bee.url(), adminToken, fmt.Sprintf(
		"reserve small %d\n\t\t\tpurchase_backoff 200ms\n\t\t\tpurchase_timeout 2s\n\t\t\tmax_purchases_per_hour 10000", target)),
		"admin_token", "cache off\n\t\tadmin_token", 1))
	waitPoolReserve(t, gw, adminToken, 17, target, 60*time.Second)
	content := randomBytes(256 << 10)
	ref := sim.AddContent(content)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	// The pool never holds more than its target: sampled all along.
	var over atomic.Int64
	var overSeen atomic.Value
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			st, ok := tryPoolStatus(gw, adminToken)
			if ok && st.CurrentLevels["17"]+st.Pending["17"] > target {
				over.Add(1)
				overSeen.Store(fmt.Sprintf("reserve %d + pending %d", st.CurrentLevels["17"], st.Pending["17"]))
			}
		}
	}()

	issued := map[string]bool{}
	scenarios := []struct {
		name  string
		apply func()
		check func(t *testing.T, c *tally)
	}{
		{"bee slow (300 ms per download)", func() {
			sim.SetClassFault(beesim.ClassDownload, beesim.ClassFault{Latency: 300 * time.Millisecond})
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.downloads[200])
			require.Equal(t, 0, c.dlBroken)
			require.Positive(t, c.uploads[201])
		}},
		{"downloads answer 500", func() {
			sim.SetClassFault(beesim.ClassDownload, beesim.ClassFault{Status: 500})
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.downloads[500], "Bee's 500 reaches the clients")
			require.Positive(t, c.uploads[201], "uploads are unaffected")
		}},
		{"uploads answer 503", func() {
			sim.SetClassFault(beesim.ClassUpload, beesim.ClassFault{Status: 503})
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.uploads[503], "Bee's 503 reaches the uploader")
			require.Contains(t, c.upBodies[503], "syncing")
			require.Positive(t, c.downloads[200])
		}},
		{"downloads cut after 10 kB", func() {
			sim.SetCutAfter(10_000)
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.dlBroken, "a cut body ends as broken")
			require.Equal(t, 0, c.downloads[200], "never a complete-looking 200 with short bytes")
		}},
		{"bee restarting (503 syncing everywhere)", func() {
			sim.Restart(1200 * time.Millisecond)
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.downloads[503])
		}},
		{"purchases fail: out of funds", func() {
			sim.SetPurchaseFailure(beesim.PurchaseOutOfFunds)
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.acquires[200]+c.acquires[409])
		}},
		{"purchases fail: bee busy (429)", func() {
			sim.SetPurchaseFailure(beesim.PurchaseBusy)
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.acquires[200]+c.acquires[409])
		}},
		{"purchases hang, then the batch appears", func() {
			sim.SetPurchaseHang(true)
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.downloads[200])
		}},
		{"bee down (connection refused)", func() {
			bee.down()
		}, func(t *testing.T, c *tally) {
			require.Positive(t, c.downloads[502], "Caddy answers 502 while Bee is gone")
			require.Zero(t, c.dlWrong)
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			sc.apply()
			c := newTally()
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			runLoad(ctx, client, gw, ref, content, c)
			cancel()
			sim.ClearFaults()
			bee.mu.Lock()
			down := bee.srv == nil
			bee.mu.Unlock()
			if down {
				bee.up(t)
			}
			t.Log(c)
			require.Zero(t, c.dlWrong, "a 200 with the wrong bytes")
			for _, id := range c.acquired {
				require.False(t, issued[id], "batch %s issued twice", id)
				issued[id] = true
			}
			sc.check(t, c)
			// Recovery: back to target, with no fault left.
			waitPoolReserve(t, gw, adminToken, 17, target, 60*time.Second)
		})
	}
	close(stopWatch)
	<-watchDone
	require.Zero(t, over.Load(), "the pool held more than its target: %v", overSeen.Load())

	// Every batch Bee sold is in the ledger (none orphaned), and no label was bought twice.
	chain := sim.Batches()
	ledger := readLedgerIDs(t, gw)
	labels := map[string]bool{}
	for _, b := range chain {
		require.True(t, ledger[b.BatchID], "batch %s (%s) paid for but not in the ledger", b.BatchID, b.Label)
		require.False(t, labels[b.Label], "label %s bought twice", b.Label)
		labels[b.Label] = true
	}
	t.Logf("batches bought %d, issued %d, in the ledger %d", len(chain), len(issued), len(ledger))

	// No goroutine leak: once the clients are gone, Caddy's count returns to where it was.
	client.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > baseline+10 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("goroutines: %d before the faults, %d after", baseline, runtime.NumGoroutine())
	require.LessOrEqual(t, runtime.NumGoroutine(), baseline+10, "goroutines leaked")
}

func tryPoolStatus(gw *gateway, token string) (poolStatus, bool) {
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v1/pool/status", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return poolStatus{}, false
	}
	defer resp.Body.Close()
	var st poolStatus
	return st, json.NewDecoder(resp.Body).Decode(&st) == nil
}

// readLedgerIDs returns the ids of every batch in the gateway's pool ledger.
func readLedgerIDs(t *testing.T, gw *gateway) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, b := range readLedger(t, gw) {
		ids[b.ID] = true
	}
	return ids
}
