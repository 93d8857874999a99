package cache

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// ErrReadFailed means an entry's body could not be read while it was being sent: the
// caller must cut the connection (the client has headers and part of the body).
var ErrReadFailed = errors.New("content cache: entry read failed mid-answer")

// Serve answers r from a hit as Bee would, without Bee: Range (206, multipart, 416),
// HEAD and If-None-Match (304) through http.ServeContent, with the entry's headers and
// CacheControl. It closes the hit.
func (c *Cache) Serve(w http.ResponseWriter, r *http.Request, h *Hit) error {
	defer h.Body.Close()
	dst := w.Header()
	for name, values := range h.Meta.Header {
		dst[name] = append([]string(nil), values...)
	}
	dst.Set("Cache-Control", CacheControl)
	if wb, ok := h.Body.(wholeBody); ok && plainGet(r) && dst.Get("Content-Type") != "" {
		return c.serveWhole(w, h, wb)
	}
	body := &trackedReader{r: h.Body, size: h.Meta.Size}
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, "", time.Time{}, body)
	if body.err != nil {
		return fmt.Errorf("%w: %s after %d bytes: %w", ErrReadFailed, h.Meta.Key, cw.n, body.err)
	}
	c.Served(h.Tier, cw.n)
	return nil
}

// conditionalHeaders are the request headers ServeContent acts on besides the method.
var conditionalHeaders = []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// plainGet reports whether r asks for the whole body without conditions, the common case.
func plainGet(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	for _, name := range conditionalHeaders {
		if _, ok := r.Header[name]; ok {
			return false
		}
	}
	return true
}

// serveWhole answers a plain GET as ServeContent would (200, Accept-Ranges, Content-Length)
// but sends the body in one piece: one Write of a memory entry's bytes, or the disk
// entry's file through the writers' ReadFrom down to sendfile, instead of ServeContent's
// 32 KiB copies through a buffer. A short copy is a read failure or a client gone; either
// way the answer must not look complete, so it is reported for the caller to cut.
func (c *Cache) serveWhole(w http.ResponseWriter, h *Hit, wb wholeBody) error {
	src, err := wb.whole()
	if err != nil {
		return fmt.Errorf("%w: %s before the first byte: %w", ErrReadFailed, h.Meta.Key, err)
	}
	hdr := w.Header()
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Content-Length", strconv.FormatInt(h.Meta.Size, 10))
	// Counted before the body goes: once its last byte is in the socket the client may act
	// on the answer (e.g. read the stats) before this goroutine runs again.
	c.Served(h.Tier, h.Meta.Size)
	w.WriteHeader(http.StatusOK)
	var n int64
	if rf, ok := w.(io.ReaderFrom); ok && isFile(src) {
		// Directly: io.Copy would ask the *os.File's WriteTo first, which hands ReadFrom a
		// wrapper that net/http's sendfile does not recognise.
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(w, src) // a memory entry: bytes.Reader's WriteTo, one Write
	}
	if n != h.Meta.Size {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%w (or the client went away): %s after %d bytes: %w", ErrReadFailed, h.Meta.Key, n, err)
	}
	return nil
}

// trackedReader remembers a read error: ServeContent stops on it silently, which would
// otherwise end the answer short.
// An end before the entry's size (a file truncated behind the cache's back) is an error too.
type trackedReader struct {
	r         ReadSeekCloser
	size, pos int64
	err       error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.pos += int64(n)
	switch {
	case err == io.EOF && t.pos < t.size:
		t.err = io.ErrUnexpectedEOF
	case err != nil && err != io.EOF:
		t.err = err
	}
	return n, err
}

func (t *trackedReader) Seek(off int64, whence int) (int64, error) {
	n, err := t.r.Seek(off, whence)
	if err != nil {
		t.err = err
	}
	t.pos = n
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func isFile(r io.Reader) bool { _, ok := r.(*os.File); return ok }
