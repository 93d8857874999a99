package testkit

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

func TestMemStorageLocksAndCopies(t *testing.T) {
	m := NewMemStorage()
	ctx := context.Background()
	_, err := m.Load(ctx, "k")
	require.ErrorIs(t, err, fs.ErrNotExist)
	v := []byte("one")
	require.NoError(t, m.Store(ctx, "k", v))
	v[0] = 'X'
	got, err := m.Load(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "one", string(got), "Store keeps a copy")
	require.Equal(t, 1, m.Stores())

	require.NoError(t, m.Lock(ctx, "l"))
	require.True(t, m.Locked("l"))
	short, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, m.Lock(short, "l"), context.Canceled, "a held lock is not taken twice")
	taken := make(chan error)
	go func() { taken <- m.Lock(ctx, "l") }()
	require.NoError(t, m.Unlock(ctx, "l"))
	require.NoError(t, <-taken, "a waiter gets the lock once it is free")
	require.NoError(t, m.Unlock(ctx, "l"))
	require.Error(t, m.Unlock(ctx, "l"), "unlocking a free lock")
}

func TestCaddyfileRendersOneLoopbackSite(t *testing.T) {
	c := Caddyfile{Storage: "/s", Port: 8080, Site: "bee http://sim {\n\tpool {\n\t\treserve small 1\n\t}\n}\n"}
	require.Equal(t, "{\n\tadmin off\n\tstorage file_system /s\n}\nhttp://127.0.0.1:8080 {\n"+
		"\tbee http://sim {\n\t\tpool {\n\t\t\treserve small 1\n\t\t}\n\t}\n}\n", c.String())
	c.Admin = "127.0.0.1:2019"
	require.Contains(t, c.String(), "\tadmin 127.0.0.1:2019\n")
	c.WriteMaxChunk = "1MiB"
	require.Contains(t, c.String(), "\tstorage file_system /s\n\tservers {\n\t\ttimeouts {\n\t\t\twrite_max_chunk 1MiB\n\t\t}\n\t}\n}\n")
}

func TestRouteListsAreDistinctSamples(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range append(append([]Route(nil), AdminRoutes...), RefusedContentMethods...) {
		require.Regexp(t, `^(GET|POST|PUT|PATCH|DELETE)$`, r.Method)
		require.Regexp(t, `^/[a-z]`, r.Path)
		require.False(t, seen[r.Method+" "+r.Path], "duplicate %s %s", r.Method, r.Path)
		seen[r.Method+" "+r.Path] = true
	}
	for _, spell := range []func(string) []string{WireSpellings, PathSpellings} {
		got := spell("/stamps/" + Ref)
		require.Contains(t, got, "/stamps/"+Ref)
		distinct := map[string]bool{}
		for _, s := range got {
			distinct[s] = true
		}
		require.Len(t, distinct, len(got), "spellings repeat: %q", got)
	}
	require.Contains(t, WireSpellings("/wallet"), "/%77allet")
}

func TestLedgerDecodesTheStoredFile(t *testing.T) {
	storage := t.TempDir()
	_, _, err := ReadOnlyLedger(storage)
	require.Error(t, err)
	dir := filepath.Join(storage, "caddy-bee", "pool")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	raw := `{"version":1,"node":"n","batches":[{"id":"ab","label":"l","depth":17,"state":"retired","retired_reason":"full"}],` +
		`"intents":[{"label":"i"}],"checksum":"x"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "n.json"), []byte(raw), 0o600))
	doc, gotRaw, err := ReadOnlyLedger(storage)
	require.NoError(t, err)
	require.Equal(t, raw, string(gotRaw))
	require.Equal(t, Ledger{Node: "n", Batches: []LedgerBatch{{ID: "ab", Label: "l", Depth: 17, State: "retired", RetiredReason: "full"}},
		Intents: []LedgerIntent{{Label: "i"}}}, doc)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "n.json"), []byte(`{"batches":[`), 0o600))
	_, _, err = ReadOnlyLedger(storage)
	require.ErrorContains(t, err, "not valid JSON")
}

func TestSimControlDrivesTheSimulator(t *testing.T) {
	sim := beesim.New(beesim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	c := SimControl{URL: srv.URL + "/"}
	ref, err := c.Synthetic(5000, 1, true)
	require.NoError(t, err)
	require.Len(t, ref, 64)
	require.NoError(t, c.SetDownloadLatency(time.Millisecond))
	var answer any
	require.NoError(t, GetJSON(srv.URL+"/_beesim/faults", &answer))
	require.Contains(t, answer, "classes")
	require.NoError(t, c.SetDownloadLatency(0))
	resp, err := http.Get(srv.URL + "/bytes/" + ref)
	require.NoError(t, err)
	resp.Body.Close()
	st, err := c.Stats()
	require.NoError(t, err)
	require.Equal(t, sim.Stats(), st)
	require.EqualValues(t, 1, st.Downloads)
	require.NoError(t, c.ResetStats())
	st, err = c.Stats()
	require.NoError(t, err)
	require.Zero(t, st.Downloads)
	batches, err := c.Batches()
	require.NoError(t, err)
	require.Empty(t, batches)
	require.ErrorContains(t, SimControl{URL: srv.URL + "/nowhere"}.do("GET", "/x", nil, nil), "404")
}

func TestProcessStartWaitAndStop(t *testing.T) {
	port, err := FreePort()
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err, "FreePort gives a port that can be bound")
	l.Close()

	dir := t.TempDir()
	var ps Processes
	t.Cleanup(func() { ps.StopAll(time.Second) })
	p, err := ps.Start("sh", filepath.Join(dir, "sh.log"), []string{"GREETING=hello"}, "/bin/sh", "-c", `echo "$GREETING"; echo two; exec sleep 60`)
	require.NoError(t, err)
	lines, err := p.FirstLines(2, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, []string{"hello", "two"}, lines)
	require.False(t, p.Exited())
	ps.StopAll(5 * time.Second)
	require.True(t, p.Exited())

	q, err := Start("false", filepath.Join(dir, "false.log"), nil, "/bin/sh", "-c", "echo dying; exit 3")
	require.NoError(t, err)
	err = q.WaitHTTP("http://127.0.0.1:"+strconv.Itoa(port), 10*time.Second)
	require.ErrorContains(t, err, "exited while starting")
	require.ErrorContains(t, err, "dying")
	_, err = Start("missing", filepath.Join(dir, "m.log"), nil, filepath.Join(dir, "no-such-binary"))
	require.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
}

func TestHeapPeakSeesAnAllocation(t *testing.T) {
	stop := make(chan struct{})
	peak := HeapPeak(stop)
	held := make([]byte, 64<<20)
	for i := range held {
		held[i] = 1
	}
	// HeapPeak samples every 5 ms: nothing to wait on but a few of its ticks.
	time.Sleep(50 * time.Millisecond)
	close(stop)
	require.GreaterOrEqual(t, <-peak, uint64(60<<20))
	runtime.KeepAlive(held)
	require.Positive(t, HeapInUse())
	require.Positive(t, SelfRSS())
}

// ReadLedger adds the batches of the history the ledger names; the ledger's copy of a batch
// in both wins.
func TestReadLedgerAddsItsHistory(t *testing.T) {
	dir := t.TempDir()
	write := func(key, body string) string {
		p := filepath.Join(dir, filepath.FromSlash(key))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	write("caddy-bee/pool-history/n-0.json", `{"batches":[{"id":"a","state":"issued"},{"id":"d","state":"issued"}]}`)
	write("caddy-bee/pool-history/n-1.json", `{"batches":[{"id":"a","state":"retired"},{"id":"b","state":"issued"}]}`)
	path := write("caddy-bee/pool/n.json", `{"batches":[{"id":"b","state":"retired"},{"id":"c","state":"reserve"}],`+
		`"history":["caddy-bee/pool-history/n-0.json","caddy-bee/pool-history/n-1.json"]}`)
	doc, _, err := ReadOnlyLedger(dir)
	require.NoError(t, err)
	require.Equal(t, []LedgerBatch{{ID: "b", State: "retired"}, {ID: "c", State: "reserve"}, {ID: "a", State: "retired"}, {ID: "d", State: "issued"}}, doc.Batches)
	require.Equal(t, []string{path}, LedgerFiles(dir), "the history counted as a ledger")

	require.NoError(t, os.Remove(filepath.Join(dir, "caddy-bee/pool-history/n-1.json")))
	_, _, err = ReadLedger(path)
	require.ErrorContains(t, err, "names its history segment")
}
