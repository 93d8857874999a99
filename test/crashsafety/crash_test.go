package crashsafety

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

const (
	token  = "crash-token"
	target = 3
)

type world struct {
	dir     string
	sim     string
	port    int
	gw      string
	storage string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	// Purchases take 300 ms to return, so many kills land while Bee is mining one.
	simProc := startProcess(t, filepath.Join(dir, "sim.log"), nil, "beesim",
		"-listen", "127.0.0.1:0", "-block-time", "50ms", "-purchase-latency", "300ms", "-balance", "10000000")
	w := &world{dir: dir, sim: firstLines(t, simProc, 1)[0], port: freePort(t), storage: filepath.Join(dir, "storage")}
	w.gw = fmt.Sprintf("http://127.0.0.1:%d", w.port)
	w.writeCaddyfile(t, "Caddyfile", w.port)
	return w
}

// caddyfile is a gateway config on port; every config of a world shares its storage and
// its simulator.
func (w *world) caddyfile(port int) testkit.Caddyfile {
	return testkit.Caddyfile{Storage: w.storage, Port: port, Site: fmt.Sprintf(`bee %s {
	admin_token %s
%s
}`, w.sim, token, poolBlock)}
}

// poolBlock is every gateway's pool in these tests: a reserve of target small batches, bought
// as fast as the simulator's chain allows.
var poolBlock = fmt.Sprintf(`	pool {
		reserve small %d
		block_time 50ms
		purchase_spacing 1ms
		purchase_timeout 5s
		max_purchases_per_hour 100000
	}`, target)

// writeCaddyfile writes the world's gateway config on port.
func (w *world) writeCaddyfile(t *testing.T, name string, port int) {
	t.Helper()
	if err := w.caddyfile(port).Write(filepath.Join(w.dir, name)); err != nil {
		t.Fatal(err)
	}
}

func (w *world) startCaddy(t *testing.T) *testkit.Process {
	t.Helper()
	return w.startCaddyWith(t, "Caddyfile", "caddy.log", w.gw)
}

func (w *world) startCaddyWith(t *testing.T, caddyfile, log, gw string) *testkit.Process {
	t.Helper()
	p := startProcess(t, filepath.Join(w.dir, log), testkit.CaddyEnv(w.dir), "caddy", testkit.CaddyRunArgs(filepath.Join(w.dir, caddyfile))...)
	waitHTTP(t, gw+"/health", p)
	return p
}

// openIntents counts the intents the pool may still wait for: all but those it stopped
// counting as pending (a SIGKILL before Bee took the purchase: past the purchase timeout and a
// few blocks, no batch carries the label), which stay recorded in case the batch appears.
func openIntents(doc testkit.Ledger, chain []beesim.BatchInfo) int {
	onChain := map[string]bool{}
	for _, b := range chain {
		onChain[b.Label] = true
	}
	n := 0
	for _, in := range doc.Intents {
		if !in.Abandoned || onChain[in.Label] {
			n++
		}
	}
	return n
}

func (w *world) ledger(t *testing.T) (testkit.Ledger, []byte) {
	t.Helper()
	doc, raw, err := testkit.ReadOnlyLedger(w.storage)
	if err != nil {
		t.Fatalf("the ledger after a crash: %v", err)
	}
	return doc, raw
}

func (w *world) chain(t *testing.T) []beesim.BatchInfo {
	t.Helper()
	out, err := testkit.SimControl{URL: w.sim}.Batches()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type status struct {
	CurrentLevels map[string]int `json:"current_levels"`
	Pending       map[string]int `json:"pending"`
	Errors        []string       `json:"errors"`
}

func (w *world) status() (status, error) {
	var st status
	err := testkit.GetJSON(w.gw+"/api/v1/pool/status", &st)
	return st, err
}

// load runs acquires and injected uploads until ctx ends; it records every batch id an
// acquire answered with.
func (w *world) load(ctx context.Context, issued *sync.Map, dup chan<- string, uploads *int64) {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.gw+"/api/v1/pool/acquire", strings.NewReader(`{"size":"small"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			if resp, err := client.Do(req); err == nil {
				var out struct {
					BatchID string `json:"batch_id"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && out.BatchID != "" {
					if _, seen := issued.LoadOrStore(out.BatchID, true); seen {
						dup <- out.BatchID
					}
				}
			}
			time.Sleep(150 * time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		body := bytes.Repeat([]byte("crash-safety "), 5000)
		for i := 0; ctx.Err() == nil; i++ {
			b := append([]byte(strconv.Itoa(i)), body...)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.gw+"/bytes", bytes.NewReader(b))
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					*uploads++
				}
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
	wg.Wait()
}

// TestSIGKILLDuringPurchasesAcquiresAndUploads: 20 (CRASH_ITERATIONS) SIGKILLs at random
// moments (seed printed; CRASH_SEED replays a run). After every restart the ledger is
// readable, and at the end every batch Bee sold is in the ledger, no label was bought twice,
// no batch id was handed out twice, and the pool is back at its target and no higher.
func TestSIGKILLDuringPurchasesAcquiresAndUploads(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	iterations := 20
	if s := os.Getenv("CRASH_ITERATIONS"); s != "" {
		iterations, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (CRASH_SEED=%d replays this run)", seed, seed)
	rnd := rand.New(rand.NewPCG(seed, 0))
	w := newWorld(t)

	var issued sync.Map
	dup := make(chan string, 100)
	var uploads int64
	killsDuringPurchase := 0
	for i := 1; i <= iterations; i++ {
		caddy := w.startCaddy(t)
		// A SIGKILL in the middle of a ledger write must never leave it unreadable.
		if st, err := w.status(); err != nil || ledgerUnreadable(st.Errors) {
			t.Fatalf("iteration %d: after the restart the pool reports %v %v", i, st.Errors, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.load(ctx, &issued, dup, &uploads) }()
		time.Sleep(time.Duration(100+rnd.IntN(1400)) * time.Millisecond)
		doc, _ := w.ledger(t)
		if len(doc.Intents) > 0 {
			killsDuringPurchase++ // a purchase was on its way to Bee or being mined
		}
		caddy.Kill()
		cancel()
		<-done
	}
	t.Logf("%d SIGKILLs, %d of them with a purchase in flight; %d acquires answered, %d injected uploads",
		iterations, killsDuringPurchase, countMap(&issued), uploads)

	// The last start: the pool must converge to its target and agree with the chain.
	w.startCaddy(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := w.status()
		doc, _ := w.ledger(t)
		open := openIntents(doc, w.chain(t))
		if err == nil && st.CurrentLevels["17"] == target && st.Pending["17"] == 0 && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not settle at its target: %+v, intents %d (%d open)", st, len(doc.Intents), open)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case id := <-dup:
		t.Fatalf("batch %s was handed out by two acquires", id)
	default:
	}

	doc, _ := w.ledger(t)
	byID := map[string]string{}
	states := map[string]int{}
	reasons := map[string]int{}
	for _, b := range doc.Batches {
		byID[b.ID] = b.State
		states[b.State]++
		if b.RetiredReason != "" {
			reasons[b.RetiredReason]++
		}
	}
	t.Logf("retired because: %v", reasons)
	chain := w.chain(t)
	ledgerAgreesWithChain(t, byID, chain, &issued)
	if len(chain) != len(doc.Batches) {
		t.Errorf("chain has %d batches, the ledger %d", len(chain), len(doc.Batches))
	}
	t.Logf("RESULT: %d SIGKILLs (seed %d): %d batches on chain, %d in the ledger %v; %d issued, none twice; none orphaned",
		iterations, seed, len(chain), len(doc.Batches), states, countMap(&issued))
}

// ledgerUnreadable: a status error about the ledger other than the lock a killed process
// left behind (it is waited out or taken over: "ledger busy").
func ledgerUnreadable(errs []string) bool {
	for _, e := range errs {
		if strings.Contains(e, "ledger") && !strings.Contains(e, "ledger busy") {
			return true
		}
	}
	return false
}

func countMap(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}

// A corrupt ledger stops all spending: Caddy still serves, the pool status and the log say
// what is wrong, nothing is bought even below target, and the file is left as it was.
func TestCorruptLedgerStopsSpending(t *testing.T) {
	w := newWorld(t)
	caddy := w.startCaddy(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := w.status(); err == nil && st.CurrentLevels["17"] == target {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pool never filled")
		}
		time.Sleep(50 * time.Millisecond)
	}
	caddy.Kill()

	_, raw := w.ledger(t)
	i := bytes.Index(raw, []byte(`"state"`))
	corrupt := append([]byte(nil), raw...)
	corrupt[i+10] ^= 0x01 // one flipped bit inside a value: the checksum no longer matches
	files := testkit.LedgerFiles(w.storage)
	if err := os.WriteFile(files[0], corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	sim := testkit.SimControl{URL: w.sim}
	before, err := sim.Stats()
	if err != nil {
		t.Fatal(err)
	}

	w.startCaddy(t)
	var st status
	deadline = time.Now().Add(10 * time.Second)
	for {
		var err error
		if st, err = w.status(); err == nil && len(st.Errors) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status does not report the corrupt ledger: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(strings.ToLower(strings.Join(st.Errors, " ")), "corrupt") {
		t.Errorf("status errors do not name the problem: %v", st.Errors)
	}
	// Below target now (nothing usable is known), yet nothing may be bought.
	req, _ := http.NewRequest(http.MethodPost, w.gw+"/api/v1/pool/acquire", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("a batch was handed out from a corrupt ledger")
	}
	time.Sleep(2 * time.Second)
	after, err := sim.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.Purchases != before.Purchases {
		t.Errorf("bought %d batches with a corrupt ledger", after.Purchases-before.Purchases)
	}
	now, err := os.ReadFile(files[0])
	if err != nil || !bytes.Equal(now, corrupt) {
		t.Error("the corrupt ledger was overwritten")
	}
	logs, _ := os.ReadFile(filepath.Join(w.dir, "caddy.log"))
	if !bytes.Contains(bytes.ToLower(logs), []byte("corrupt")) {
		t.Error("the log does not mention the corrupt ledger")
	}
	t.Logf("RESULT: corrupt ledger: status errors %q, acquire answered %d, purchases unchanged (%d), file untouched",
		st.Errors, resp.StatusCode, after.Purchases)
}

// ledgerAgreesWithChain reports every batch paid for on the chain but missing from the ledger
// (byID: batch id -> state), every label bought twice, and every batch a client was handed
// (issued) that the ledger does not record as issued.
func ledgerAgreesWithChain(t *testing.T, byID map[string]string, chain []beesim.BatchInfo, issued *sync.Map) {
	t.Helper()
	labels := map[string]bool{}
	for _, b := range chain {
		if _, ok := byID[b.BatchID]; !ok {
			t.Errorf("batch %s (%s) was paid for but is not in the ledger", b.BatchID, b.Label)
		}
		if labels[b.Label] {
			t.Errorf("label %s was bought twice", b.Label)
		}
		labels[b.Label] = true
	}
	issued.Range(func(k, _ any) bool {
		if byID[k.(string)] != "issued" {
			t.Errorf("batch %s was handed out but the ledger says %q", k, byID[k.(string)])
		}
		return true
	})
}
