package crashsafety

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// Two Caddy instances share one storage in front of the same two Bee nodes (beesim -nodes
// 2): a pool and ledger per node, shared by both instances. 16 clients take batches as fast
// as they can while others upload through the gateways, and the first instance is killed
// (SIGKILL) halfway and started again. No batch is handed out twice, every batch says the
// node that bought it, and on each node every paid batch is in that node's ledger and the
// purchases replace exactly what left the reserve: bought = issued + target + used by
// uploads (issued: what the clients got, plus at most the acquires cut by the kill).
func TestTwoInstancesOverTwoNodes(t *testing.T) {
	dir := t.TempDir()
	simProc := startProcess(t, filepath.Join(dir, "sim.log"), nil, "beesim", "-nodes", "2",
		"-listen", "127.0.0.1:0", "-block-time", "50ms", "-purchase-latency", "300ms", "-balance", "10000000")
	nodes := firstLines(t, simProc, 2)
	w := &world{dir: dir, storage: filepath.Join(dir, "storage")}
	gws := []string{}
	var first *testkit.Process
	for i, name := range []string{"Caddyfile", "Caddyfile2"} {
		port := freePort(t)
		gws = append(gws, fmt.Sprintf("http://127.0.0.1:%d", port))
		caddyfile := testkit.Caddyfile{Storage: w.storage, Port: port, Site: fmt.Sprintf(`bee %s %s {
	admin_token %s
	node %s {
		label east
	}
%s
}`, nodes[0], nodes[1], token, nodes[1], poolBlock)}
		if err := caddyfile.Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		p := w.startCaddyWith(t, name, fmt.Sprintf("caddy%d.log", i+1), gws[i])
		if i == 0 {
			first = p
		}
	}
	labelOf := map[string]string{nodes[0]: "node1", nodes[1]: "east"}

	var issued sync.Map // batch id -> node label
	var dups, ok, empty, busy, uploads atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, gw := range gws {
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
						Node    string `json:"node"`
					}
					_ = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						ok.Add(1)
						if _, seen := issued.LoadOrStore(out.BatchID, out.Node); seen {
							dups.Add(1)
						}
					case http.StatusConflict:
						empty.Add(1)
						time.Sleep(20 * time.Millisecond)
					case http.StatusServiceUnavailable:
						// The ledger lock of the killed instance, until it is taken over.
						busy.Add(1)
						time.Sleep(20 * time.Millisecond)
					default:
						t.Errorf("acquire via %s: %d", gw, resp.StatusCode)
					}
				}
			}()
		}
		wg.Add(1)
		go func() { // injected uploads keep the active batches in use meanwhile
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for ctx.Err() == nil {
				resp, err := client.Post(gw+"/bytes", "application/octet-stream", strings.NewReader(fmt.Sprintf("upload %d", time.Now().UnixNano())))
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					uploads.Add(1)
				} else {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	first.Kill()
	w.startCaddyWith(t, "Caddyfile", "caddy1.log", gws[0])
	wg.Wait()
	if dups.Load() > 0 {
		t.Fatalf("%d batches were handed out twice", dups.Load())
	}
	if ok.Load() == 0 || uploads.Load() == 0 {
		t.Fatalf("%d acquires and %d uploads succeeded", ok.Load(), uploads.Load())
	}

	// Both instances settle on each node's target, with no purchase open in either ledger.
	ledgers := func() map[string]testkit.Ledger {
		out := map[string]testkit.Ledger{}
		for _, f := range testkit.LedgerFiles(w.storage) {
			doc, _, err := testkit.ReadLedger(f)
			if err != nil {
				t.Fatal(err)
			}
			out[doc.Node] = doc
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		settled := len(ledgers()) == 2
		for _, doc := range ledgers() {
			for _, in := range doc.Intents {
				settled = settled && in.Abandoned
			}
		}
		for _, gw := range gws {
			var st struct {
				Nodes map[string]status `json:"nodes"`
			}
			err := testkit.GetJSON(gw+"/api/v1/pool/status", &st)
			for _, label := range labelOf {
				n := st.Nodes[label]
				settled = settled && err == nil && n.CurrentLevels["17"] == target && n.Pending["17"] == 0
			}
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instances did not settle on both nodes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a late double buy would show up now

	docs := ledgers()
	for _, node := range nodes {
		label := labelOf[node]
		chain, err := testkit.SimControl{URL: node}.Batches()
		if err != nil {
			t.Fatal(err)
		}
		inLedger := map[string]bool{}
		states := map[string]int{}
		for _, b := range docs[node].Batches {
			inLedger[b.ID] = true
			states[b.State]++
		}
		taken := 0
		issued.Range(func(id, l any) bool {
			if l == label {
				taken++
				if !inLedger[id.(string)] {
					t.Errorf("batch %s issued as %s's but not in its ledger", id, label)
				}
			}
			return true
		})
		for _, b := range chain {
			if !inLedger[b.BatchID] {
				t.Errorf("batch %s paid for on %s but not in its ledger", b.BatchID, label)
			}
		}
		// An acquire cut by the kill may have been recorded without its answer reaching the
		// client: at most one per client of the killed instance.
		if states["issued"] < taken || states["issued"] > taken+8 {
			t.Errorf("%s: the ledger records %d issued batches, the clients got %d", label, states["issued"], taken)
		}
		// The rest were injected into uploads: active now, or retired once full.
		injected := states["active"] + states["retired"]
		if want := states["issued"] + target + injected; len(chain) != want || len(chain) != len(docs[node].Batches) {
			t.Errorf("%s: bought %d batches for %d taken, a target of %d and %d used by uploads (want %d); ledger %v",
				label, len(chain), taken, target, injected, want, states)
		}
		t.Logf("RESULT: %s: %d batches bought = %d issued (%d answered) + target %d + %d injected into uploads",
			label, len(chain), states["issued"], taken, target, injected)
	}
	// An issued batch stamps through either gateway: each routes it to the node that owns it.
	checked := 0
	issued.Range(func(id, _ any) bool {
		for _, gw := range gws {
			req, _ := http.NewRequest(http.MethodPost, gw+"/bytes", strings.NewReader(fmt.Sprintf("own batch %s via %s", id, gw)))
			req.Header.Set("Swarm-Postage-Batch-Id", id.(string))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("upload with issued batch %s via %s: %d", id, gw, resp.StatusCode)
			}
		}
		checked++
		return checked < 6
	})
	t.Logf("RESULT: two instances over two nodes, one killed and restarted, 16 clients, 5 s: %d acquires answered (%d from an empty reserve, %d ledger busy), none twice; %d injected uploads",
		ok.Load(), empty.Load(), busy.Load(), uploads.Load())
}
