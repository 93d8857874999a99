package caddymodule

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// downloadWriteChunk is the most one write or sendfile call to a download's client covers.
// Caddy's write idle timeout cuts every write and every sendfile into pieces of the
// server's max_write_chunk (64 KiB by default), each with a deadline of its own: a 100 MiB
// body fanned out to 100 clients made 160,000 sendfile calls and deadline resets. Each
// piece must go out within the write idle timeout, so the piece is also the least a client
// must take per timeout: 1 MiB (17 KB/s at the default 1 min), the coalescer's own
// stall_timeout piece, rather than nginx's 2 MiB sendfile_max_chunk.
const downloadWriteChunk = 1 << 20

// largeDownloadWrites raises the request's write chunk to downloadWriteChunk when the
// server uses Caddy's default; a max_write_chunk the admin set to anything else stands.
// The writer is this request's alone, so the change ends with it (no restore, no
// allocation). A timeouts handler's Override further out puts its own value back.
func largeDownloadWrites(r *http.Request) {
	_, w := caddyhttp.IdleTimeoutsFromContext(r.Context())
	if w != nil && (w.MaxChunk == 0 || w.MaxChunk == caddyhttp.DefaultMaxWriteChunk) {
		w.MaxChunk = downloadWriteChunk
	}
}

// pacedDownloadWrites lets Caddy's write idle timeout pace a coalesced download's spilled
// part (coalesce.Options.PacedWrites): the request's timeout is lowered to the coalescer's
// stall timeout when that is shorter (never raised: the admin's write_idle stands), so
// every piece of the server's sendfile copy goes out under a deadline of at most stall.
// Without a write idle timeout on the server the coalescer paces the copy itself.
func pacedDownloadWrites(r *http.Request, stall time.Duration) bool {
	_, w := caddyhttp.IdleTimeoutsFromContext(r.Context())
	if w == nil || w.Deadline.Timeout <= 0 {
		return false
	}
	if stall > 0 && stall < w.Deadline.Timeout {
		w.Deadline.Timeout = stall
	}
	return true
}
