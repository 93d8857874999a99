package coalesce

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// CopyFileRange writes n bytes of f, from offset off, to w by way of w's io.ReaderFrom
// when it has one; n < 0 copies to the end of the file. Over a chain of writers that each
// pass ReadFrom on (net/http's response; Caddy's ResponseWriterWrapper, recorder and
// write-idle-timeout writer; this project's CORS and site writers), the bytes go from the
// page cache to the socket by sendfile, never through user space; without it they go
// through a reused buffer in large writes.
//
// Prefer n < 0 where the rest of the file is wanted: net's sendfile sees through one
// *io.LimitedReader only, and Caddy's write idle timeout (on by default) already wraps
// the reader in one per chunk, so a bounded copy through Caddy falls back to user-space
// copying while a copy to the end keeps sendfile.
//
// f's own offset moves: give each concurrent copy a descriptor of its own (os.Open the
// same path), never share one. The coalescer serves spilled bytes this way; a disk cache
// can serve its entries the same way.
func CopyFileRange(w io.Writer, f *os.File, off, n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, fmt.Errorf("seek %s to %d: %w", f.Name(), off, err)
	}
	var src io.Reader = f
	if n > 0 {
		src = &io.LimitedReader{R: f, N: n} // the one wrapper sendfile sees through
	}
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(writerOnly{w}, src, *bp)
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, fileReadSize); return &b }}

// writerOnly hides everything but Write from io.CopyBuffer.
type writerOnly struct{ io.Writer }

// copySpilled sends the reader's spilled bytes, to the spill file's current end, to c
// straight from the file, through its own descriptor. The end may lie past the published
// size (a write under way): those bytes are the body's all the same, since the file is
// only ever appended to, and the reader's position simply runs ahead of the published
// size until the writer publishes them. No deadline may cover the whole copy (a deadline
// set by the handler caps Caddy's write idle resets, so a slow but steady client was cut
// as stalled): the server paces it in its own pieces (Options.PacedWrites; a piece of ours
// would hide the file from sendfile under the server's), or one call sends at most
// maxClientWrite bytes under one stall deadline. ok=false means the reader is not in
// the spilled part, the file cannot be opened again or the client's writer has no
// ReadFrom (then next's reusable buffer costs less): use next instead. A failure is
// the client's (a read error on a file just written is not told apart).
func (r *spoolReader) copySpilled(c *clientWriter) (n int64, ok bool, err error) {
	s := r.s
	s.mu.Lock()
	if r.holdsLent {
		r.holdsLent = false
		s.wakeWriterLocked()
	}
	stored := s.memLen + s.fileLen
	if r.pos < s.memLen || r.pos >= stored || s.file == nil || r.noReopen || !c.readsFrom {
		s.mu.Unlock()
		return 0, false, nil
	}
	name, base := s.file.Name(), s.memLen
	s.mu.Unlock()
	if r.file == nil {
		f, err := os.Open(name) // the reader's reference keeps the file in place
		if err != nil {
			r.noReopen = true
			return 0, false, nil
		}
		r.file = f
	}
	if c.serverPaced() {
		n, err = CopyFileRange(c.w, r.file, r.pos-base, -1) // the server's pieces, each under its deadline
	} else {
		c.arm()
		n, err = CopyFileRange(c.w, r.file, r.pos-base, maxClientWrite)
	}
	s.mu.Lock()
	r.pos += n
	s.wakeWriterIfLockstepLocked()
	s.mu.Unlock()
	if err != nil {
		return n, true, c.gone("send spilled body to client", err)
	}
	return n, true, nil
}
