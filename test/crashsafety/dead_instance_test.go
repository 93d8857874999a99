package crashsafety

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

const (
	// recoveryBound: how long the survivor may refuse acquires after its peer died. A dead
	// holder's lock goes stale after 10 s on the file storage, and is taken over after 20 s
	// on any storage.
	recoveryBound = 40 * time.Second
	// termBound: SIGTERM with Caddy's default (eternal) grace must still end the process:
	// every request's ledger wait is bounded (5 s).
	termBound = 15 * time.Second
)

// Two instances share one storage under acquire and upload load; one of them, chosen at
// random, is SIGKILLed at a random moment (seeded; CRASH_SEED replays) 20 times
// (CRASH_ITERATIONS), often while it holds the ledger's storage lock. Each time the survivor
// answers acquires again within recoveryBound; at the end no batch was issued twice, every
// paid batch is in the ledger, no lock-refresh ERROR was logged, both instances' goroutines
// are back at their baseline, and SIGTERM ends an instance within termBound even while its
// peer has just died holding the ledger.
func TestDeadInstanceNeverFreezesTheOther(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	iterations := 20
	if s := os.Getenv("CRASH_ITERATIONS"); s != "" {
		iterations, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (CRASH_SEED=%d replays this run)", seed, seed)
	rnd := rand.New(rand.NewPCG(seed, 1))

	w := newWorld(t)
	insts := [2]*instance{
		{caddyfile: "CaddyfileA", log: "caddyA.log", port: w.port, admin: freePort(t)},
		{caddyfile: "CaddyfileB", log: "caddyB.log", port: freePort(t), admin: freePort(t)},
	}
	for _, in := range insts {
		in.gw = fmt.Sprintf("http://127.0.0.1:%d", in.port)
		w.writeCaddyfileWithAdmin(t, in.caddyfile, in.port, in.admin)
		in.start(t, w)
	}
	for _, in := range insts {
		w.waitSettled(t, in.gw)
	}
	// Idle baseline: nothing in flight, connections closed.
	baseline := [2]int{}
	for i, in := range insts {
		baseline[i] = in.goroutines(t)
	}

	var issued sync.Map
	var dups, oks atomic.Int64
	load := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, in := range insts {
			for range 4 {
				wg.Go(func() { acquireLoop(ctx, in.gw, &issued, &dups, &oks) })
			}
			wg.Go(func() { uploadLoop(ctx, in.gw) })
		}
		return func() { cancel(); wg.Wait() }
	}

	stopLoad := load()
	var recoveries []time.Duration
	underLoad := 0 // most goroutines one instance had under the load, sampled before each kill
	for i := 1; i <= iterations; i++ {
		time.Sleep(time.Duration(200+rnd.IntN(1300)) * time.Millisecond)
		for _, in := range insts {
			underLoad = max(underLoad, in.goroutines(t))
		}
		victim := rnd.IntN(2)
		survivor := insts[1-victim]
		insts[victim].proc.Kill()
		took, refusals := survivor.firstAcquire(t, &issued, &dups, &oks)
		if took > recoveryBound {
			stopLoad()
			t.Fatalf("round %d: the survivor served no acquire for %s after its peer was killed (bound %s)\n%s",
				i, took.Round(time.Millisecond), recoveryBound, poolLines(survivor.logBytes(w)))
		}
		recoveries = append(recoveries, took)
		t.Logf("round %d: killed %s, survivor served an acquire after %s (%d refused with 503 meanwhile)",
			i, insts[victim].caddyfile, took.Round(time.Millisecond), refusals)
		insts[victim].start(t, w)
	}
	stopLoad()
	if dups.Load() > 0 {
		t.Fatalf("%d batches were handed out twice", dups.Load())
	}

	// Goroutines back to the baseline once the load is over (lock-refresh goroutines live 5 s).
	for i, in := range insts {
		w.waitSettled(t, in.gw)
		var n int
		deadline := time.Now().Add(30 * time.Second)
		for {
			if n = in.goroutines(t); n <= baseline[i]+20 || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if n > baseline[i]+20 {
			t.Errorf("%s: %d goroutines after the load, baseline %d\n%s", in.caddyfile, n, baseline[i], in.goroutineDump(t))
		}
		t.Logf("%s: goroutines idle %d at start, %d after the load", in.caddyfile, baseline[i], n)
	}

	// The case: a peer dies holding the ledger lock under load, and the survivor, its
	// requests waiting for the ledger, is told to stop. A peer frozen (SIGSTOP) until the
	// survivor reports the ledger busy holds the lock; then it is killed.
	stopLoad = load()
	heldByDead := false
	for try := 0; try < 50 && !heldByDead; try++ {
		time.Sleep(time.Duration(50+rnd.IntN(300)) * time.Millisecond)
		_ = syscall.Kill(-insts[0].proc.Cmd.Process.Pid, syscall.SIGSTOP)
		heldByDead = insts[1].reportsBusy(2 * time.Second)
		if !heldByDead {
			_ = syscall.Kill(-insts[0].proc.Cmd.Process.Pid, syscall.SIGCONT)
		}
	}
	insts[0].proc.Kill()
	if !heldByDead {
		t.Error("never caught the peer holding the ledger lock in 50 tries")
	}
	time.Sleep(time.Duration(rnd.IntN(3000)) * time.Millisecond) // survivor's requests are waiting
	termB := term(t, insts[1].proc)
	stopLoad()
	if termB > termBound {
		t.Errorf("SIGTERM took %s to end the survivor (bound %s)", termB, termBound)
	}
	// And a plain SIGTERM of a healthy instance.
	insts[0].start(t, w)
	w.waitSettled(t, insts[0].gw)
	termA := term(t, insts[0].proc)
	if termA > termBound {
		t.Errorf("SIGTERM took %s to end an idle instance (bound %s)", termA, termBound)
	}

	// The ledger agrees with the chain once a last instance has reconciled it.
	insts[0].start(t, w)
	w.waitSettled(t, insts[0].gw)
	term(t, insts[0].proc)
	doc, _ := w.ledger(t)
	byID := map[string]string{}
	for _, b := range doc.Batches {
		byID[b.ID] = b.State
	}
	chain := w.chain(t)
	ledgerAgreesWithChain(t, byID, chain, &issued)
	refreshErrors := 0
	for _, in := range insts {
		refreshErrors += bytes.Count(in.logBytes(w), []byte("Keeping lock file fresh"))
	}
	if refreshErrors > 0 {
		t.Errorf("%d \"Keeping lock file fresh\" errors logged", refreshErrors)
	}
	slices.Sort(recoveries)
	t.Logf("RESULT: %d SIGKILLs of one of two instances under load (seed %d): survivor back in p50 %s, max %s (bound %s); "+
		"%d acquires answered, none twice; %d batches on chain, all in the ledger; goroutines idle %v at start, at most %d under load; "+
		"SIGTERM ended the survivor waiting on a dead holder's lock in %s and an idle instance in %s; %d lock-refresh errors",
		iterations, seed, recoveries[len(recoveries)/2].Round(time.Millisecond), recoveries[len(recoveries)-1].Round(time.Millisecond),
		recoveryBound, oks.Load(), len(chain), baseline, underLoad, termB.Round(time.Millisecond), termA.Round(time.Millisecond), refreshErrors)
}

// instance is one of the two gateways; proc changes with every restart.
type instance struct {
	caddyfile, log string
	port, admin    int
	gw             string
	proc           *testkit.Process
}

func (in *instance) start(t *testing.T, w *world) {
	t.Helper()
	in.proc = w.startCaddyWith(t, in.caddyfile, in.log, in.gw)
}

func (in *instance) logBytes(w *world) []byte {
	b, _ := os.ReadFile(filepath.Join(w.dir, in.log))
	return b
}

// goroutines reads the count from the admin endpoint's goroutine profile.
func (in *instance) goroutines(t *testing.T) int {
	t.Helper()
	http.DefaultClient.CloseIdleConnections()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/goroutine?debug=1", in.admin))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	f := strings.Fields(line) // "goroutine profile: total N"
	if len(f) == 0 {
		t.Fatalf("no goroutine profile: %q", line)
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatalf("goroutine profile: %q", line)
	}
	return n
}

func (in *instance) goroutineDump(t *testing.T) string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/goroutine?debug=1", in.admin))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8000))
	return string(b)
}

// firstAcquire polls the survivor until an acquire is answered 200 or 409 (the pool
// works); 503s (ledger busy) must carry Retry-After.
func (in *instance) firstAcquire(t *testing.T, issued *sync.Map, dups, oks *atomic.Int64) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	client := &http.Client{Timeout: 20 * time.Second}
	refusals := 0
	for time.Since(start) <= recoveryBound {
		status, retryAfter := acquireOnce(client, in.gw, issued, dups, oks)
		switch status {
		case http.StatusOK, http.StatusConflict:
			return time.Since(start), refusals
		case http.StatusServiceUnavailable:
			refusals++
			if retryAfter == "" {
				t.Errorf("503 without Retry-After")
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), refusals
}

// reportsBusy polls the pool status for up to d until it says the ledger is busy.
func (in *instance) reportsBusy(d time.Duration) bool {
	client := &http.Client{Timeout: d}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		var st status
		resp, err := client.Get(in.gw + "/api/v1/pool/status")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if strings.Contains(strings.Join(st.Errors, " "), "ledger busy") {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// term sends SIGTERM and returns how long the process took to exit.
func term(t *testing.T, p *testkit.Process) time.Duration {
	t.Helper()
	start := time.Now()
	_ = syscall.Kill(p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.Done():
		return time.Since(start)
	case <-time.After(2 * termBound):
		p.Kill()
		return time.Since(start)
	}
}

func acquireOnce(client *http.Client, gw string, issued *sync.Map, dups, oks *atomic.Int64) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, gw+"/api/v1/pool/acquire", strings.NewReader(`{"size":"small"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var out struct {
		BatchID string `json:"batch_id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == http.StatusOK && out.BatchID != "" {
		oks.Add(1)
		if _, seen := issued.LoadOrStore(out.BatchID, gw); seen {
			dups.Add(1)
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func acquireLoop(ctx context.Context, gw string, issued *sync.Map, dups, oks *atomic.Int64) {
	client := &http.Client{Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	for ctx.Err() == nil {
		acquireOnce(client, gw, issued, dups, oks)
		time.Sleep(20 * time.Millisecond)
	}
}

func uploadLoop(ctx context.Context, gw string) {
	client := &http.Client{Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	body := bytes.Repeat([]byte("two instances "), 2000)
	for i := 0; ctx.Err() == nil; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw+"/bytes", bytes.NewReader(append([]byte(strconv.Itoa(i)), body...)))
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// waitSettled waits until the gateway's pool is at its target with nothing pending.
func (w *world) waitSettled(t *testing.T, gw string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var st status
		err := testkit.GetJSON(gw+"/api/v1/pool/status", &st)
		if err == nil && st.CurrentLevels["17"] == target && st.Pending["17"] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not settle at its target: %+v %v", gw, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeCaddyfileWithAdmin is writeCaddyfile with the admin endpoint on (for goroutine
// counts) and Caddy's default grace period (eternal).
func (w *world) writeCaddyfileWithAdmin(t *testing.T, name string, port, admin int) {
	t.Helper()
	c := w.caddyfile(port)
	c.Admin = fmt.Sprintf("127.0.0.1:%d", admin)
	if err := c.Write(filepath.Join(w.dir, name)); err != nil {
		t.Fatal(err)
	}
}
