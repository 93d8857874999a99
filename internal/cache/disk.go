package cache

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
	"go.uber.org/zap"
)

// FS is what the disk tier does to files; tests inject faults (a full disk, a failing
// rename) through it.
type FS interface {
	CreateTemp(dir, pattern string) (File, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
}

// File is a temp file being written.
type File interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

type osFS struct{}

func (osFS) CreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }
func (osFS) Rename(a, b string) error                     { return os.Rename(a, b) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }

// On disk an entry is one file: a magic line, the JSON Meta's length (4 bytes, big endian),
// the Meta, then the body. Names are unique per write (the key's hash and a random suffix),
// so replacing or evicting an entry never touches a file another one uses.
const (
	magic     = "caddy-bee-cache 1\n"
	entryExt  = ".entry"
	tmpPrefix = ".tmp-"
	maxMeta   = 64 << 10
)

type diskEntry struct {
	meta   Meta
	path   string
	offset int64 // where the body starts
}

type diskTier struct {
	dir     string
	fs      FS
	log     *zap.Logger
	index   *otter.Cache[string, *diskEntry]
	evicted func(key string, size int64) // hears of entries evicted for room

	mu      sync.Mutex // serialises renames with close, so no file lands after close
	closed  bool
	rebuilt chan struct{}
}

func newDiskTier(dir string, maxBytes int64, fs FS, log *zap.Logger, evicted func(key string, size int64)) (*diskTier, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("disk tier: create %s: %w; choose a writable `dir`", dir, err)
	}
	d := &diskTier{dir: dir, fs: fs, log: log, rebuilt: make(chan struct{}), evicted: evicted}
	index, err := otter.New(&otter.Options[string, *diskEntry]{
		MaximumWeight: uint64(maxBytes),
		Weigher:       func(_ string, e *diskEntry) uint32 { return weight(e.meta.Size) },
		OnDeletion: func(e otter.DeletionEvent[string, *diskEntry]) {
			// Open readers keep their file: removing it only unlinks the name.
			if err := d.fs.Remove(e.Value.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				d.log.Warn("content cache could not remove an evicted disk entry; delete it by hand",
					zap.String("path", e.Value.path), zap.Error(err))
			}
			if e.Cause == otter.CauseOverflow && d.evicted != nil {
				d.evicted(e.Key, e.Value.meta.Size)
			}
		},
	})
	if err := err; err != nil {
		return nil, fmt.Errorf("disk tier: %w", err)
	}
	d.index = index
	go d.rebuild()
	return d, nil
}

// rebuild indexes the entries a previous run left: temp files (a write cut by a crash or a
// reload) are removed, and so is every entry that cannot be read back whole or whose bytes
// no longer hash to its reference.
func (d *diskTier) rebuild() {
	defer close(d.rebuilt)
	dirents, err := os.ReadDir(d.dir)
	if err != nil {
		d.log.Warn("content cache could not read its disk directory; the disk tier starts empty",
			zap.String("dir", d.dir), zap.Error(err))
		return
	}
	kept, dropped := 0, 0
	for _, de := range dirents {
		name := de.Name()
		path := filepath.Join(d.dir, name)
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			_ = d.fs.Remove(path)
			continue
		case !strings.HasSuffix(name, entryExt) || de.IsDir():
			continue
		}
		d.mu.Lock()
		closed := d.closed
		d.mu.Unlock()
		if closed {
			return
		}
		e, body, err := readEntry(path)
		if err == nil && !verify(Target{Kind: e.meta.Kind, Ref: e.meta.Ref, Key: e.meta.Key}, e.meta.Header.Get("ETag"), body) {
			err = errors.New("bytes do not hash to the reference")
		}
		if err != nil {
			dropped++
			d.log.Warn("content cache dropped an unreadable disk entry", zap.String("path", path), zap.Error(err))
			_ = d.fs.Remove(path)
			continue
		}
		if _, ok := d.index.SetIfAbsent(e.meta.Key, e); !ok {
			_ = d.fs.Remove(path) // a newer write of the same key won
		}
		kept++
	}
	d.log.Info("content cache disk tier rebuilt", zap.String("dir", d.dir), zap.Int("entries", kept), zap.Int("dropped", dropped))
}

// readEntry reads a whole entry file and checks its framing.
func readEntry(path string) (*diskEntry, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	e, err := readHeader(f, path)
	if err != nil {
		return nil, nil, err
	}
	body := make([]byte, e.meta.Size)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, nil, fmt.Errorf("body: %w", err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return nil, nil, errors.New("longer than its recorded size")
	}
	return e, body, nil
}

func readHeader(f *os.File, path string) (*diskEntry, error) {
	br := bufio.NewReaderSize(io.LimitReader(f, int64(len(magic)+4+maxMeta)), 4096)
	head := make([]byte, len(magic)+4)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(magic)]) != magic {
		return nil, errors.New("not a cache entry")
	}
	n := binary.BigEndian.Uint32(head[len(magic):])
	if n > maxMeta {
		return nil, errors.New("meta too large")
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	var m Meta
	if err := json.Unmarshal(raw, &m); err != nil || m.Key == "" || m.Size < 0 {
		return nil, fmt.Errorf("meta: %v", err)
	}
	offset := int64(len(head)) + int64(n)
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return &diskEntry{meta: m, path: path, offset: offset}, nil
}

// put writes an entry atomically: a temp file, synced, renamed into place. A failed write
// (a full disk) leaves nothing behind and the tier unchanged.
func (d *diskTier) put(m Meta, body []byte, closing *atomic.Bool) (err error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := d.fs.CreateTemp(d.dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("create temp file in %s: %w", d.dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = d.fs.Remove(tmp)
		}
	}()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(raw)))
	w := bufio.NewWriterSize(f, 256<<10)
	for _, p := range [][]byte{[]byte(magic), n[:], raw, body} {
		if _, err = w.Write(p); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", tmp, err)
		}
	}
	if err = w.Flush(); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	sum := sha256.Sum256([]byte(m.Key))
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	path := filepath.Join(d.dir, hex.EncodeToString(sum[:12])+"-"+hex.EncodeToString(rnd[:])+entryExt)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || closing.Load() {
		return errors.New("cache closed during the write")
	}
	if err = d.fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into %s: %w", d.dir, err)
	}
	d.index.Set(m.Key, &diskEntry{meta: m, path: path, offset: int64(len(magic) + 4 + len(raw))})
	d.index.CleanUp() // evict now: the bound holds after every admission
	return nil
}

// get opens an entry; one that cannot be opened or is not the size it was written with is
// dropped (a miss).
func (d *diskTier) get(key string) (*Hit, bool) {
	e, ok := d.index.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	f, err := os.Open(e.path)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil && st.Size() != e.offset+e.meta.Size {
			err = fmt.Errorf("size %d, want %d", st.Size(), e.offset+e.meta.Size)
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		d.log.Warn("content cache dropped an unreadable disk entry", zap.String("path", e.path), zap.Error(err))
		d.index.Invalidate(key)
		return nil, false
	}
	return &Hit{Meta: e.meta, Body: &fileBody{SectionReader: io.NewSectionReader(f, e.offset, e.meta.Size), f: f}, Tier: "disk"}, true
}

func (d *diskTier) purge(ref string) int {
	var keys []string
	for k, e := range d.index.All() {
		if e.meta.Ref == ref {
			keys = append(keys, k)
		}
	}
	n := 0
	for _, k := range keys {
		if _, ok := d.index.Invalidate(k); ok {
			n++
		}
	}
	return n
}

func (d *diskTier) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	<-d.rebuilt
	d.index.StopAllGoroutines()
}

type fileBody struct {
	*io.SectionReader
	f *os.File
}

func (b *fileBody) Close() error { return b.f.Close() }

// whole returns the entry's file itself, positioned at the body's start: the body runs to
// the file's end (get checked the size), and net/http sends a bare *os.File with sendfile.
// Not a LimitedReader: net's sendfile sees through one only, and Caddy's write idle
// timeout already wraps the source in one per chunk (see coalesce.CopyFileRange).
func (b *fileBody) whole() (io.Reader, error) {
	off, err := b.Seek(0, io.SeekCurrent) // the section's start: nothing read yet
	if err != nil {
		return nil, err
	}
	_, start, _ := b.SectionReader.Outer()
	if _, err := b.f.Seek(start+off, io.SeekStart); err != nil {
		return nil, err
	}
	return b.f, nil
}
