package inject

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// BenchmarkInjectedUpload is the injector's own cost on an upload that Bee takes: batch
// choice, the replay copy of the body's head, the idle guard on every read, the recorder,
// the pool's upload record. next drains the body in 32 KiB reads (as a proxy transport does)
// and answers 201; "next" runs it alone: compare ns/op and allocs/op at each size. The pool
// keeps one depth-22 batch and checks Bee once a minute, as a gateway's pool at rest does,
// so background maintenance does not bill the uploads.
func BenchmarkInjectedUpload(b *testing.B) {
	f := newFixtureWith(b, func(c *pool.Config) {
		c.Reserve = map[int]int{22: 1}
		c.CheckInterval = time.Minute
	})
	answer := []byte(`{"reference":"` + string(bytes.Repeat([]byte("ab"), 32)) + `"}`)
	buf := make([]byte, 32<<10)
	next := func(w http.ResponseWriter, r *http.Request) error {
		if _, err := io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{r.Body}, buf); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		_, err := w.Write(answer)
		return err
	}
	for _, size := range []int{4 << 10, 1 << 20} {
		body := bytes.Repeat([]byte{7}, size)
		for _, mode := range []string{"next", "injected"} {
			b.Run(mode+"/"+human(size), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				w := &deadlineWriter{header: http.Header{}}
				for b.Loop() {
					clear(w.header)
					w.status = 0
					r := httptest.NewRequest(http.MethodPost, "/bytes", bytes.NewReader(body))
					r.Header.Set("Content-Type", "application/octet-stream")
					var err error
					if mode == "next" {
						err = next(w, r)
					} else {
						err = f.in.Serve(w, r, next)
					}
					if err != nil || w.status != http.StatusCreated {
						b.Fatalf("status %d: %v", w.status, err)
					}
				}
			})
		}
	}
}

func human(n int) string {
	if n >= 1<<20 {
		return "1MiB"
	}
	return "4KiB"
}

// deadlineWriter discards the answer and, like net/http's writer, takes read deadlines (the
// idle guard sets one around every read).
type deadlineWriter struct {
	header http.Header
	status int
}

func (w *deadlineWriter) Header() http.Header { return w.header }
func (w *deadlineWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *deadlineWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *deadlineWriter) SetReadDeadline(time.Time) error { return nil }
func (w *deadlineWriter) EnableFullDuplex() error         { return nil }

// onlyReader and onlyWriter hide ReaderFrom and WriterTo: the copy goes through buf.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }
