package cache

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// content returns n deterministic bytes and their /bytes reference.
func content(t testing.TB, n int, seed uint64) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	w := swarm.NewTreeWriter(swarm.LevelNone, nil)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	root, err := w.Sum()
	if err != nil {
		t.Fatal(err)
	}
	return b, hex.EncodeToString(root[:])
}

// record plays Bee's answer for path, after two misses, through a Recorder and waits until
// the cache has dealt with it.
func record(t testing.TB, c *Cache, path string, body []byte, etag string, intact bool) *httptest.ResponseRecorder {
	t.Helper()
	tg, ok := Classify(http.MethodGet, path, "", http.Header{})
	if !ok {
		t.Fatalf("%s not classified", path)
	}
	c.door.sight(tg.Key)
	c.door.sight(tg.Key)
	before := c.admitted.Load() + c.refused.Load()
	w := httptest.NewRecorder()
	rec := NewRecorder(w, c, tg, http.MethodGet)
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.Header().Set("Content-Type", "application/octet-stream")
	if etag != "" {
		rec.Header().Set("ETag", etag)
	}
	rec.WriteHeader(http.StatusOK)
	sent := body
	if !intact {
		sent = body[:len(body)/2]
	}
	for p := sent; len(p) > 0; {
		n := min(len(p), 1000)
		rec.Write(p[:n])
		p = p[n:]
	}
	offered := rec.recording && intact
	rec.Finish(intact)
	if offered {
		waitFor(t, func() bool { return c.admitted.Load()+c.refused.Load() > before })
		if c.mem != nil {
			c.mem.CleanUp()
		}
	}
	return w
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func newCache(t testing.TB, opts Options) *Cache {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if c.disk != nil {
		<-c.disk.rebuilt
	}
	return c
}

func serve(t testing.TB, c *Cache, method, path string, hdr map[string]string) (*httptest.ResponseRecorder, bool, error) {
	t.Helper()
	tg, ok := Classify(method, path, "", http.Header{})
	if !ok {
		t.Fatalf("%s not classified", path)
	}
	h, ok := c.Get(tg.Key)
	if !ok {
		return nil, false, nil
	}
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	return w, true, c.Serve(w, r, h)
}

func TestClassify(t *testing.T) {
	ref := strings.Repeat("ab", 32)
	enc := strings.Repeat("cd", 64)
	cases := []struct {
		method, path string
		hdr          string
		want         bool
		key          string
	}{
		{"GET", "/bytes/" + ref, "", true, "/bytes/" + ref},
		{"HEAD", "/v1/bytes/" + strings.ToUpper(ref), "", true, "/bytes/" + ref},
		{"GET", "/bytes/" + enc, "", true, "/bytes/" + enc},
		{"GET", "/bzz/" + ref + "/", "", true, "/bzz/" + ref + "/"},
		{"GET", "/bzz/" + ref + "/a/b.html", "", true, "/bzz/" + ref + "/a/b.html"},
		{"GET", "/chunks/" + ref, "", true, "/chunks/" + ref},
		{"GET", "/chunks/" + enc, "", false, ""},
		{"GET", "/bzz/" + ref, "", false, ""}, // Bee redirects
		{"GET", "/bzz/site.eth/", "", false, ""},
		{"GET", "/feeds/" + ref[:40] + "/" + ref, "", false, ""},
		{"GET", "/soc/" + ref[:40] + "/" + ref, "", false, ""},
		{"GET", "/bytes/" + ref[:63], "", false, ""},
		{"GET", "/bytes/" + ref + "/x", "", false, ""},
		{"POST", "/bytes/" + ref, "", false, ""},
		{"GET", "/bytes/" + ref, "Swarm-Act-Publisher", false, ""},
		{"GET", "/bytes/" + ref, "swarm-act-history-address", false, ""},
		{"GET", "/bytes/" + ref, "Swarm-Redundancy-Strategy", true, "/bytes/" + ref},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.hdr != "" {
			h[tc.hdr] = []string{"x"}
		}
		got, ok := Classify(tc.method, tc.path, "", h)
		if ok != tc.want || got.Key != tc.key {
			t.Errorf("%s %s %s: got %v %q, want %v %q", tc.method, tc.path, tc.hdr, ok, got.Key, tc.want, tc.key)
		}
	}
	ok200 := http.Header{"Etag": {`"` + ref + `"`}}
	if !Immutable(200, ok200) || !Immutable(206, ok200) {
		t.Error("200/206 with an ETag is immutable")
	}
	if Immutable(404, ok200) || Immutable(200, http.Header{}) || Immutable(304, ok200) {
		t.Error("errors, 304 and answers without ETag are not")
	}
	if Immutable(200, http.Header{"Etag": {`"x"`}, "Swarm-Feed-Index": {"0"}}) {
		t.Error("a feed answer is not")
	}
}

func TestRecorderMarksOnlyImmutable(t *testing.T) {
	ref := strings.Repeat("ab", 32)
	tg, _ := Classify("GET", "/bzz/"+ref+"/", "", http.Header{})
	w := httptest.NewRecorder()
	rec := NewRecorder(w, nil, tg, "GET")
	rec.Header().Set("ETag", `"x"`)
	rec.Header().Set("Swarm-Feed-Index", "00")
	rec.WriteHeader(200)
	if w.Header().Get("Cache-Control") != "" {
		t.Fatal("a feed manifest's answer got Cache-Control")
	}
	w = httptest.NewRecorder()
	rec = NewRecorder(w, nil, tg, "GET")
	rec.Header().Set("ETag", `"x"`)
	rec.WriteHeader(200)
	if w.Header().Get("Cache-Control") != CacheControl {
		t.Fatalf("Cache-Control %q", w.Header().Get("Cache-Control"))
	}
}

func TestMemoryHitRangeHeadConditional(t *testing.T) {
	c := newCache(t, Options{Memory: 8 << 20})
	body, ref := content(t, 100_000, 1)
	path := "/bytes/" + ref
	etag := `"` + ref + `"`
	if w := record(t, c, path, body, etag, true); w.Header().Get("Cache-Control") != CacheControl || !bytes.Equal(w.Body.Bytes(), body) {
		t.Fatal("the recorded answer is Bee's, marked immutable")
	}
	w, hit, err := serve(t, c, "GET", path, nil)
	if !hit || err != nil || w.Code != 200 || !bytes.Equal(w.Body.Bytes(), body) || w.Header().Get("ETag") != etag ||
		w.Header().Get("Cache-Control") != CacheControl {
		t.Fatalf("full hit: %v %v %d", hit, err, w.Code)
	}
	w, _, _ = serve(t, c, "GET", path, map[string]string{"Range": "bytes=10-19"})
	if w.Code != 206 || !bytes.Equal(w.Body.Bytes(), body[10:20]) {
		t.Fatalf("range hit: %d", w.Code)
	}
	w, _, _ = serve(t, c, "HEAD", path, nil)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("head hit: %d %q", w.Code, w.Header().Get("Content-Length"))
	}
	w, _, _ = serve(t, c, "GET", path, map[string]string{"If-None-Match": etag})
	if w.Code != 304 || w.Body.Len() != 0 {
		t.Fatalf("conditional hit: %d", w.Code)
	}
	st := c.Stats()
	if st.Hits != 4 || st.Memory.Entries != 1 || st.BeeBytesSaved != int64(len(body)+10) {
		t.Fatalf("stats %+v", st)
	}
}

func TestNeverAdmitted(t *testing.T) {
	c := newCache(t, Options{Memory: 8 << 20})
	body, ref := content(t, 50_000, 2)
	record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, false) // cut
	if _, hit, _ := serve(t, c, "GET", "/bytes/"+ref, nil); hit {
		t.Fatal("a cut body was admitted")
	}
	other, _ := content(t, 50_000, 3)
	record(t, c, "/bytes/"+ref, other, `"`+ref+`"`, true) // bytes of another reference
	if _, hit, _ := serve(t, c, "GET", "/bytes/"+ref, nil); hit {
		t.Fatal("bytes that do not hash to the reference were admitted")
	}
	if c.Stats().Refused != 1 {
		t.Fatalf("refused %d", c.Stats().Refused)
	}
	// A /bzz answer is checked against the file reference in its ETag.
	record(t, c, "/bzz/"+strings.Repeat("12", 32)+"/index.html", other, `"`+ref+`"`, true)
	if _, hit, _ := serve(t, c, "GET", "/bzz/"+strings.Repeat("12", 32)+"/index.html", nil); hit {
		t.Fatal("a /bzz file whose bytes are not its ETag's reference was admitted")
	}
	if c.pending.used.Load() != 0 {
		t.Fatalf("recording budget leaked: %d", c.pending.used.Load())
	}
}

func TestChunkAndBzzAdmitted(t *testing.T) {
	c := newCache(t, Options{Memory: 8 << 20})
	payload := []byte("a single chunk")
	span := swarm.Span(uint64(len(payload)))
	chunk := append(span[:], payload...)
	addr, _ := swarm.ChunkAddress(chunk)
	a := hex.EncodeToString(addr[:])
	record(t, c, "/chunks/"+a, chunk, "", true)
	w, hit, _ := serve(t, c, "GET", "/chunks/"+a, nil)
	if !hit || !bytes.Equal(w.Body.Bytes(), chunk) || w.Header().Get("ETag") != `"`+a+`"` {
		t.Fatal("a chunk that hashes to its address is served, with the address as ETag")
	}
	body, ref := content(t, 9000, 4)
	site := "/bzz/" + strings.Repeat("34", 32) + "/f.bin"
	record(t, c, site, body, `"`+ref+`"`, true)
	if _, hit, _ := serve(t, c, "GET", site, nil); !hit {
		t.Fatal("a /bzz file matching its ETag is served")
	}
	if n := c.Purge(strings.Repeat("34", 32)); n != 1 {
		t.Fatalf("purged %d", n)
	}
	if _, hit, _ := serve(t, c, "GET", site, nil); hit {
		t.Fatal("purged entry served")
	}
}

func TestMemoryBound(t *testing.T) {
	c := newCache(t, Options{Memory: 1 << 20})
	for i := range 40 {
		body, ref := content(t, 100_000, uint64(100+i))
		record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, true)
		c.mem.CleanUp()
		if s := c.Stats().Memory; s.Bytes > 1<<20 {
			t.Fatalf("memory tier holds %d bytes, bound %d", s.Bytes, 1<<20)
		}
	}
	if c.Stats().Memory.Entries == 0 {
		t.Fatal("nothing kept")
	}
	if _, ok := c.Get("/bytes/x"); ok {
		t.Fatal("unknown key hit")
	}
}

func TestDiskTierSurvivesRestartAndDropsUnreadable(t *testing.T) {
	dir := t.TempDir()
	c := newCache(t, Options{Disk: 8 << 20, Dir: dir})
	body, ref := content(t, 70_000, 5)
	record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, true)
	bad, badRef := content(t, 30_000, 6)
	record(t, c, "/bytes/"+badRef, bad, `"`+badRef+`"`, true)
	if s := c.Stats().Disk; s.Entries != 2 {
		t.Fatalf("disk entries %d", s.Entries)
	}
	c.Close()
	// Flip a byte of one entry's body and leave a temp file, as a crash mid-write would.
	var victim string
	files, _ := filepath.Glob(filepath.Join(dir, "*"+entryExt))
	for _, f := range files {
		if e, _, err := readEntry(f); err == nil && e.meta.Ref == badRef {
			victim = f
		}
	}
	raw, _ := os.ReadFile(victim)
	raw[len(raw)-1] ^= 1
	os.WriteFile(victim, raw, 0o600)
	os.WriteFile(filepath.Join(dir, tmpPrefix+"crashed"), []byte("half"), 0o600)

	c2 := newCache(t, Options{Disk: 8 << 20, Dir: dir})
	w, hit, err := serve(t, c2, "GET", "/bytes/"+ref, nil)
	if !hit || err != nil || !bytes.Equal(w.Body.Bytes(), body) {
		t.Fatal("an intact entry survives a restart")
	}
	if _, hit, _ := serve(t, c2, "GET", "/bytes/"+badRef, nil); hit {
		t.Fatal("an entry whose bytes changed on disk was served")
	}
	if _, err := os.Stat(victim); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the corrupt entry stays on disk")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*")); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestDiskEntryUnreadableAtServeTime(t *testing.T) {
	dir := t.TempDir()
	c := newCache(t, Options{Disk: 8 << 20, Dir: dir})
	body, ref := content(t, 70_000, 7)
	record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, true)
	files, _ := filepath.Glob(filepath.Join(dir, "*"+entryExt))
	if err := os.Truncate(files[0], 1000); err != nil {
		t.Fatal(err)
	}
	if _, hit, _ := serve(t, c, "GET", "/bytes/"+ref, nil); hit {
		t.Fatal("a truncated entry was served")
	}
	c.disk.index.CleanUp()
	if c.Stats().Disk.Entries != 0 {
		t.Fatal("the unreadable entry stays indexed")
	}
}

// A file truncated after it was opened: the answer ends in ErrReadFailed (the caller cuts
// the connection), never as a short 200.
func TestDiskEntryTruncatedMidRead(t *testing.T) {
	dir := t.TempDir()
	c := newCache(t, Options{Disk: 8 << 20, Dir: dir})
	body, ref := content(t, 70_000, 8)
	record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, true)
	h, ok := c.Get("/bytes/" + ref)
	if !ok {
		t.Fatal("miss")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+entryExt))
	os.Truncate(files[0], 5000)
	err := c.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/bytes/"+ref, nil), h)
	if !errors.Is(err, ErrReadFailed) {
		t.Fatalf("err %v", err)
	}
}

func TestPurgeDuringRead(t *testing.T) {
	for _, opts := range []Options{{Memory: 8 << 20}, {Disk: 8 << 20, Dir: t.TempDir()}} {
		c := newCache(t, opts)
		body, ref := content(t, 200_000, 9)
		record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, true)
		h, ok := c.Get("/bytes/" + ref)
		if !ok {
			t.Fatal("miss")
		}
		if n := c.Purge(ref); n != 1 {
			t.Fatalf("purged %d", n)
		}
		if c.disk != nil {
			c.disk.index.CleanUp()
			waitFor(t, func() bool {
				files, _ := filepath.Glob(filepath.Join(opts.Dir, "*"+entryExt))
				return len(files) == 0
			})
		}
		w := httptest.NewRecorder()
		if err := c.Serve(w, httptest.NewRequest("GET", "/bytes/"+ref, nil), h); err != nil || !bytes.Equal(w.Body.Bytes(), body) {
			t.Fatalf("a read under way when purged: %v, %d bytes", err, w.Body.Len())
		}
		if _, hit := c.Get("/bytes/" + ref); hit {
			t.Fatal("purged entry still served")
		}
	}
}

// faultFS fails writes after limit bytes (a full disk) or fails renames.
type faultFS struct {
	osFS
	limit      int64
	failRename bool
	created    atomic.Int64
}

type limitedFile struct {
	*os.File
	left *int64
}

func (f *limitedFile) Write(p []byte) (int, error) {
	if int64(len(p)) > *f.left {
		n, _ := f.File.Write(p[:*f.left])
		*f.left = 0
		return n, fmt.Errorf("write: %w", errNoSpace)
	}
	*f.left -= int64(len(p))
	return f.File.Write(p)
}

var errNoSpace = errors.New("no space left on device")

func (fs *faultFS) CreateTemp(dir, pattern string) (File, error) {
	fs.created.Add(1)
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	left := fs.limit
	return &limitedFile{File: f, left: &left}, nil
}

func (fs *faultFS) Rename(a, b string) error {
	if fs.failRename {
		return errors.New("rename refused")
	}
	return os.Rename(a, b)
}

func TestDiskFullOrRenameFails(t *testing.T) {
	for _, fs := range []*faultFS{{limit: 10_000}, {limit: 1 << 30, failRename: true}} {
		dir := t.TempDir()
		c := newCache(t, Options{Memory: 8 << 20, Disk: 8 << 20, Dir: dir, FS: fs})
		body, ref := content(t, 70_000, 10)
		w := record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, true)
		if !bytes.Equal(w.Body.Bytes(), body) {
			t.Fatal("the client got other bytes than Bee's")
		}
		if fs.created.Load() != 1 || c.Stats().Disk.Entries != 0 {
			t.Fatalf("disk entries %d", c.Stats().Disk.Entries)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("a failed write left %d files", len(left))
		}
		// The memory tier still has it.
		if w, hit, _ := serve(t, c, "GET", "/bytes/"+ref, nil); !hit || !bytes.Equal(w.Body.Bytes(), body) {
			t.Fatal("memory tier lost the entry")
		}
	}
}

// A cache closed (the last config using it was unloaded) while a disk write is under way
// leaves no entry behind: the rename is refused, the temp file removed.
func TestCloseMidWrite(t *testing.T) {
	dir := t.TempDir()
	c := newCache(t, Options{Disk: 8 << 20, Dir: dir})
	body, ref := content(t, 10_000, 11)
	var closing atomic.Bool
	closing.Store(true)
	if err := c.disk.put(Meta{Key: "/bytes/" + ref, Kind: KindBytes, Ref: ref, Size: int64(len(body)), Header: http.Header{}}, body, &closing); err == nil {
		t.Fatal("a write finishing after close was accepted")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("files left: %d", len(left))
	}
}

func TestDiskBound(t *testing.T) {
	dir := t.TempDir()
	const bound = 1 << 20
	c := newCache(t, Options{Disk: bound, Dir: dir})
	for i := range 30 {
		body, ref := content(t, 100_000, uint64(200+i))
		record(t, c, "/bytes/"+ref, body, `"`+ref+`"`, true)
	}
	c.disk.index.CleanUp()
	waitFor(t, func() bool {
		var total int64
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if info, err := f.Info(); err == nil {
				total += info.Size()
			}
		}
		return total <= bound
	})
	if s := c.Stats().Disk; s.Bytes > bound || s.Entries == 0 {
		t.Fatalf("disk tier %+v", s)
	}
}

var _ io.Writer = (*limitedFile)(nil)

// A miss for a key whose complete body is being verified waits for it, then finds the
// verified entry; a key that is only being recorded (or unknown) does not wait.
func TestAwaitVerification(t *testing.T) {
	c := newCache(t, Options{Memory: 64 << 20})
	body, ref := content(t, 8<<20, 12) // hashing takes a while
	key := "/bytes/" + ref
	if c.AwaitVerification(t.Context(), key, time.Second) {
		t.Fatal("waited for an unknown key")
	}
	c.Get(key) // two misses: the next answer is recorded
	c.Get(key)
	tg, _ := Classify("GET", key, "", http.Header{})
	rec := NewRecorder(httptest.NewRecorder(), c, tg, "GET")
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.Header().Set("ETag", `"`+ref+`"`)
	rec.WriteHeader(200)
	rec.Write(body[:100])
	start := time.Now()
	if c.AwaitVerification(t.Context(), key, time.Second) || time.Since(start) > 500*time.Millisecond {
		t.Fatal("waited for a body still being recorded")
	}
	rec.Write(body[100:])
	rec.Finish(true)
	waited := c.AwaitVerification(t.Context(), key, 10*time.Second)
	if _, hit := c.Get(key); !hit {
		t.Fatalf("no entry after the verification (waited %v)", waited)
	}
	if _, pending := c.recording.Load(key); pending {
		t.Fatal("the key stays pending")
	}
}

// A /bytes body uploaded at a redundancy level verifies against its reference too.
func TestVerifyRedundancyLevels(t *testing.T) {
	body, _ := content(t, 20_000, 13)
	w := swarm.NewTreeWriter(swarm.LevelStrong, nil)
	w.Write(body)
	root, _ := w.Sum()
	ref := hex.EncodeToString(root[:])
	tg, _ := Classify("GET", "/bytes/"+ref, "", http.Header{})
	if !verify(tg, "", body) {
		t.Fatal("a level-2 upload did not verify")
	}
	body[0] ^= 1
	if verify(tg, "", body) {
		t.Fatal("changed bytes verified")
	}
}

// playAnswer sends Bee's complete answer for key through a Recorder and reports whether it
// was recorded.
func playAnswer(t *testing.T, c *Cache, key string, body []byte, etag string) bool {
	t.Helper()
	tg, ok := Classify("GET", key, "", http.Header{})
	if !ok {
		t.Fatalf("%s not classified", key)
	}
	rec := NewRecorder(httptest.NewRecorder(), c, tg, "GET")
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.Header().Set("ETag", etag)
	rec.WriteHeader(200)
	rec.Write(body)
	recorded := rec.recording
	before := c.admitted.Load()
	rec.Finish(true)
	if recorded {
		waitFor(t, func() bool { return c.admitted.Load() > before })
	}
	return recorded
}

// Only a key's second miss has its answer recorded (copied and hashed): a key asked for once
// costs the cache nothing but a slot in the doorkeeper.
func TestDoorkeeperRecordsOnlyRecurringKeys(t *testing.T) {
	c := newCache(t, Options{Memory: 8 << 20})
	body, ref := content(t, 10_000, 21)
	key, etag := "/bytes/"+ref, `"`+ref+`"`
	if playAnswer(t, c, key, body, etag) {
		t.Fatal("an answer nobody missed was recorded")
	}
	if _, hit := c.Get(key); hit {
		t.Fatal("hit before any recording")
	}
	if playAnswer(t, c, key, body, etag) {
		t.Fatal("the answer to a first miss was recorded")
	}
	if _, hit := c.Get(key); hit {
		t.Fatal("hit after one miss")
	}
	if !playAnswer(t, c, key, body, etag) {
		t.Fatal("the answer to a second miss was not recorded")
	}
	w, hit, err := serve(t, c, "GET", key, nil)
	if !hit || err != nil || !bytes.Equal(w.Body.Bytes(), body) {
		t.Fatalf("after admission: hit %v, err %v", hit, err)
	}
}

// Counts: a key is worth recording from its second request; a stream of one-off keys on
// its slot wears it down only slowly; a key less popular than what the cache evicts for
// room is not worth recording.
func TestDoorkeeperCounts(t *testing.T) {
	d := newDoorkeeper(0)
	if len(d.slots) != minDoorkeeperSlots {
		t.Fatalf("%d slots for an empty tier, want %d", len(d.slots), minDoorkeeperSlots)
	}
	if n := len(newDoorkeeper(1 << 40).slots); n != maxDoorkeeperSlots {
		t.Fatalf("%d slots for a huge tier, want %d", n, maxDoorkeeperSlots)
	}
	if n := len(newDoorkeeper(100 << 20).slots); n&(n-1) != 0 || n < (100<<20)>>13 {
		t.Fatalf("%d slots for 100 MiB: want a power of two near one per 4 KiB", n)
	}
	d.sight("a")
	if d.worthRecording("a", 1000) {
		t.Fatal("one request made a key worth recording")
	}
	for range 5 {
		d.sight("a")
	}
	if !d.worthRecording("a", 1000) || d.count("a") != 6 {
		t.Fatalf("count %d after 6 requests", d.count("a"))
	}
	// Another key on a's slot wears it down by one per request, then takes the slot.
	var other string
	for i := 0; other == ""; i++ {
		if k := "k" + strconv.Itoa(i); d.slot(d.tag(k)) == d.slot(d.tag("a")) {
			other = k
		}
	}
	for range 4 {
		d.sight(other)
	}
	if d.count("a") != 2 || d.count(other) != 0 {
		t.Fatalf("after 4 other requests: a %d, other %d", d.count("a"), d.count(other))
	}
	d.sight(other)
	d.sight(other)
	if d.count("a") != 0 || d.count(other) != 1 {
		t.Fatalf("after 6 other requests: a %d, other %d", d.count("a"), d.count(other))
	}
	// Evictions of keys asked for 5 times raise the bar above a key asked for 3 times.
	for range 3 {
		d.sight("b")
	}
	if !d.worthRecording("b", 1000) {
		t.Fatal("b, asked for 3 times, is not worth recording in a cache that evicts nothing")
	}
	for i := range 20 {
		k := "v" + strconv.Itoa(i)
		if d.slot(d.tag(k)) == d.slot(d.tag("b")) {
			continue
		}
		for range 5 {
			d.sight(k)
		}
		d.evicted(k, 1000)
	}
	if d.worthRecording("b", 1000) {
		t.Fatal("b is worth recording though the cache evicts keys asked for more often")
	}
	// Aging halves counts and the bar alike.
	d.age()
	if d.count("b") != 1 || d.victimDensity.Load() > density(3, 1000) {
		t.Fatalf("after aging: b %d, victims' density %d", d.count("b"), d.victimDensity.Load())
	}
}

// writeCounter counts Write calls; with readFrom it also takes ReadFrom and remembers the
// source's shape.
type writeCounter struct {
	*httptest.ResponseRecorder
	writes int
	src    io.Reader
}

func (w *writeCounter) Write(p []byte) (int, error) { w.writes++; return w.ResponseRecorder.Write(p) }

type readFromCounter struct{ *writeCounter }

func (w readFromCounter) ReadFrom(src io.Reader) (int64, error) {
	w.src = src
	return io.Copy(w.writeCounter, src)
}

// A plain GET of a memory entry is one Write of the whole body; of a disk entry, a ReadFrom
// of the entry's bare *os.File (what net/http sends with sendfile, also through Caddy's
// write idle timeout, which adds a LimitedReader of its own). Both answer with the headers
// ServeContent gives.
func TestPlainGetInOnePiece(t *testing.T) {
	body, ref := content(t, 300_000, 30)
	path := "/bytes/" + ref
	for _, opts := range []Options{{Memory: 8 << 20}, {Disk: 8 << 20, Dir: t.TempDir()}} {
		c := newCache(t, opts)
		record(t, c, path, body, `"`+ref+`"`, true)
		h, ok := c.Get(path)
		if !ok {
			t.Fatal("miss")
		}
		wc := &writeCounter{ResponseRecorder: httptest.NewRecorder()}
		if err := c.Serve(readFromCounter{wc}, httptest.NewRequest("GET", path, nil), h); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wc.Body.Bytes(), body) || wc.Code != 200 {
			t.Fatalf("%s: status %d, %d bytes", h.Tier, wc.Code, wc.Body.Len())
		}
		// The same entry through ServeContent (a HEAD) gives the same headers.
		h, _ = c.Get(path)
		ref := httptest.NewRecorder()
		if err := c.Serve(ref, httptest.NewRequest("HEAD", path, nil), h); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"Content-Length", "Content-Type", "Accept-Ranges", "ETag", "Cache-Control"} {
			if got, want := wc.Header().Get(name), ref.Header().Get(name); got != want || got == "" {
				t.Errorf("%s: %s %q, ServeContent gives %q", h.Tier, name, got, want)
			}
		}
		switch h.Tier {
		case "memory":
			if wc.writes != 1 || wc.src != nil {
				t.Errorf("memory entry in %d writes (ReadFrom from %T), want 1 Write", wc.writes, wc.src)
			}
		case "disk":
			if _, ok := wc.src.(*os.File); !ok {
				t.Errorf("disk entry sent from %T, want an *os.File", wc.src)
			}
		}
	}
}
