package inject

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/replay"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

const testBlock = 10 * time.Millisecond

// testNode is a single node: always usable.
type testNode struct{ p *pool.Pool }

func (n testNode) StampPool() *pool.Pool { return n.p }
func (testNode) Usable(time.Time) bool   { return true }
func (testNode) Avoid(time.Time)         {}
func (testNode) Name() string            { return "node1" }

// testRecorder holds back the answers hold picks, like Caddy's ResponseRecorder.
type testRecorder struct {
	http.ResponseWriter
	hold     func(int) bool
	status   int
	buffered bool
	buf      bytes.Buffer
}

func (r *testRecorder) WriteHeader(status int) {
	if r.status != 0 {
		return
	}
	r.status = status
	if r.buffered = r.hold(status); !r.buffered {
		r.ResponseWriter.WriteHeader(status)
	}
}

func (r *testRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.buffered {
		return r.buf.Write(p)
	}
	return r.ResponseWriter.Write(p)
}

func (r *testRecorder) Status() int           { return r.status }
func (r *testRecorder) Buffer() *bytes.Buffer { return &r.buf }
func (r *testRecorder) Buffered() bool        { return r.buffered }
func (r *testRecorder) WriteResponse() error {
	r.ResponseWriter.WriteHeader(r.status)
	_, err := r.ResponseWriter.Write(r.buf.Bytes())
	return err
}

type countObserver struct {
	mu      sync.Mutex
	results []string
}

func (o *countObserver) Injection(result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.results = append(o.results, result)
}
func (o *countObserver) ReplayNoRoom() {}
func (o *countObserver) IdleEnded()    {}

type fixture struct {
	sim  *beesim.Sim
	pool *pool.Pool
	in   *Injector
	obs  *countObserver
	next func(http.ResponseWriter, *http.Request) error
	seen []string // the batch each upload reached Bee with
}

// newFixture starts a simulated Bee, a pool of two small batches and an injector in front
// of a plain reverse proxy to the simulator.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, nil)
}

// newFixtureWith is newFixture with the pool's configuration changed by tune (nil: none).
func newFixtureWith(t testing.TB, tune func(*pool.Config)) *fixture {
	t.Helper()
	f := &fixture{sim: beesim.New(beesim.Options{BlockTime: testBlock}), obs: &countObserver{}}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/bytes" {
			mu.Lock()
			f.seen = append(f.seen, r.Header.Get(BatchHeader)+"|"+r.Header.Get(PinHeader))
			mu.Unlock()
		}
		f.sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client, err := bee.New(srv.URL, bee.Options{PurchaseTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
	require.NoError(t, err)
	cfg := pool.DefaultConfig()
	cfg.Reserve = map[int]int{pool.SmallDepth: 2}
	cfg.BlockTime, cfg.PurchaseSpacing, cfg.CheckInterval = testBlock, 0, time.Second
	cfg.PollInterval, cfg.PurchaseTimeout, cfg.MaxPurchasesPerHour = 5*time.Millisecond, 500*time.Millisecond, 1000
	cfg.BackoffBase, cfg.BackoffMax, cfg.IntentGrace = 200*time.Millisecond, time.Second, time.Minute
	if tune != nil {
		tune(&cfg)
	}
	f.pool, err = pool.New(cfg, pool.Deps{Bee: client, Storage: testkit.NewMemStorage(), NodeKey: srv.URL})
	require.NoError(t, err)
	f.pool.Start()
	t.Cleanup(f.pool.Stop)
	require.Eventually(t, func() bool {
		for d, n := range cfg.Reserve {
			if f.pool.Status().CurrentLevels[d] < n {
				return false
			}
		}
		return true
	}, 20*time.Second, 5*time.Millisecond, "the pool never filled: %+v", f.pool.Status())

	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.next = func(w http.ResponseWriter, r *http.Request) error { proxy.ServeHTTP(w, r); return nil }
	f.in = &Injector{
		Nodes: []Node{testNode{f.pool}}, Replay: replay.NewBudget(8 << 20), ReplayWait: 5 * time.Second,
		IdleTimeout: 10 * time.Second, RetryAfter: func() time.Duration { return time.Minute },
		Logger: zap.NewNop(), Observer: f.obs,
		NewRecorder: func(w http.ResponseWriter, hold func(int) bool) Recorder {
			return &testRecorder{ResponseWriter: w, hold: hold}
		},
		HTTPError: func(status int, err error) error { return fmt.Errorf("status %d: %w", status, err) },
		OnBatch:   func(*http.Request, string) {},
	}
	return f
}

func (f *fixture) upload(t *testing.T, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/bytes", strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	require.NoError(t, f.in.Serve(w, r, f.next))
	return w
}

func TestInjectsTheActiveBatchAndDropsPinning(t *testing.T) {
	f := newFixture(t)
	active, err := f.pool.ActiveFor(context.Background(), 1)
	require.NoError(t, err)
	w := f.upload(t, "hello", PinHeader, "true")
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Equal(t, []string{active.ID + "|"}, f.seen, "the pool's batch, no pinning")
	require.Equal(t, []string{"ok"}, f.obs.results)
}

// A batch Bee refuses (full), confirmed by Bee's view of it, is retired and the upload goes
// once more, from its replay copy, with the other batch.
func TestConfirmedRefusalRetiresTheBatchAndRetries(t *testing.T) {
	f := newFixture(t)
	full, err := f.pool.ActiveFor(context.Background(), 1)
	require.NoError(t, err)
	require.True(t, f.sim.FillBatch(full.ID))

	w := f.upload(t, "hello again")
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.Len(t, f.seen, 2)
	require.Equal(t, full.ID+"|", f.seen[0])
	require.NotEqual(t, f.seen[0], f.seen[1], "the retry took another batch")
	require.Equal(t, []string{"rejected", "retried"}, f.obs.results)
	for _, b := range f.pool.Available() {
		require.NotEqual(t, full.ID, b.ID, "the full batch left service")
	}
}

// A refusal that is not about the batch (an unknown tag) reaches the client as Bee gave it
// and leaves the pool alone.
func TestOtherRefusalPassesOnAndKeepsTheBatch(t *testing.T) {
	f := newFixture(t)
	before, err := f.pool.ActiveFor(context.Background(), 1)
	require.NoError(t, err)
	w := f.upload(t, "tagged", "Swarm-Tag", "999999")
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Len(t, f.seen, 1, "no retry")
	require.Equal(t, []string{"refused"}, f.obs.results)
	after, err := f.pool.ActiveFor(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, before.ID, after.ID)
}
