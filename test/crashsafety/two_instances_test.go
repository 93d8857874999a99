package crashsafety

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// Two Caddy instances share one storage (so one ledger and one reserve target) in front of
// one Bee, with 8 clients each taking batches as fast as they can. No batch is handed out by
// both, and the purchases replace exactly what was taken: bought = issued + target.
func TestTwoInstancesShareOneLedger(t *testing.T) {
	w := newWorld(t)
	port2 := freePort(t)
	gw2 := fmt.Sprintf("http://127.0.0.1:%d", port2)
	w.writeCaddyfile(t, "Caddyfile2", port2)
	w.startCaddy(t)
	w.startCaddyWith(t, "Caddyfile2", "caddy2.log", gw2)

	var issued sync.Map
	var dups, ok, empty atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, gw := range []string{w.gw, gw2} {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 10 * time.Second}
				for ctx.Err() == nil {
					req, _ := http.NewRequest(http.MethodPost, gw+"/api/v1/pool/acquire", strings.NewReader(`{"size":"small"}`))
					req.Header.Set("Authorization", "Bearer "+token)
					resp, err := client.Do(req)
					if err != nil {
						continue
					}
					var out struct {
						BatchID string `json:"batch_id"`
					}
					_ = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					switch {
					case resp.StatusCode == http.StatusOK:
						ok.Add(1)
						if _, seen := issued.LoadOrStore(out.BatchID, gw); seen {
							dups.Add(1)
						}
					case resp.StatusCode == http.StatusConflict:
						empty.Add(1)
						time.Sleep(20 * time.Millisecond)
					default:
						t.Errorf("acquire via %s: %d", gw, resp.StatusCode)
					}
				}
			}()
		}
	}
	wg.Wait()
	if dups.Load() > 0 {
		t.Fatalf("%d batches were handed out twice", dups.Load())
	}
	if ok.Load() == 0 {
		t.Fatal("no acquire succeeded")
	}

	// Both settle on the shared target; then Bee's sales must equal what was taken plus it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		doc, _ := w.ledger(t)
		st1, err1 := w.status()
		var st2 status
		err2 := testkit.GetJSON(gw2+"/api/v1/pool/status", &st2)
		if err1 == nil && err2 == nil && st1.CurrentLevels["17"] == target && st2.CurrentLevels["17"] == target &&
			st1.Pending["17"] == 0 && st2.Pending["17"] == 0 && len(doc.Intents) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instances did not settle: %+v / %+v", st1, st2)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a late double buy would show up now
	chain := w.chain(t)
	doc, _ := w.ledger(t)
	inLedger := map[string]bool{}
	for _, b := range doc.Batches {
		inLedger[b.ID] = true
	}
	for _, b := range chain {
		if !inLedger[b.BatchID] {
			t.Errorf("batch %s paid for but not in the shared ledger", b.BatchID)
		}
	}
	if want := int(ok.Load()) + target; len(chain) != want {
		states := map[string]int{}
		for _, b := range doc.Batches {
			states[b.State+" "+b.RetiredReason]++
		}
		logs, _ := os.ReadFile(filepath.Join(w.dir, "caddy.log"))
		logs2, _ := os.ReadFile(filepath.Join(w.dir, "caddy2.log"))
		t.Errorf("bought %d batches for %d taken and a target of %d (want %d); ledger %v\n%s\n%s", len(chain), ok.Load(), target, want, states,
			poolLines(logs), poolLines(logs2))
	}
	t.Logf("RESULT: two instances, 16 clients, 5 s: %d acquires answered (%d from an empty reserve), none twice; %d batches bought = %d taken + target %d",
		ok.Load(), empty.Load(), len(chain), ok.Load(), target)
}

// poolLines keeps the pool's own log lines, for a failure message.
func poolLines(log []byte) string {
	var out []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, `"bee.pool"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
