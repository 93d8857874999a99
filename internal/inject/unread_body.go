package inject

import (
	"net/http"
	"time"
)

// unreadBodyGuard keeps an HTTP/1 connection in step when an injected upload is answered
// before its body was read to the end (Bee refused it early, the client stalled or went
// idle). Without it the rest of the body would be parsed as the connection's next request
// (full duplex), or read at the client's pace before the connection is let go: the answer
// closes the connection, and when the handler returns, reads of the rest fail at once.
type unreadBodyGuard struct {
	http.ResponseWriter
	body        *body
	wroteHeader bool
}

// guardUnreadBody wraps w for an HTTP/1 upload; other protocols end a stream, never a
// connection, and need nothing.
func guardUnreadBody(w http.ResponseWriter, r *http.Request, b *body) (http.ResponseWriter, func()) {
	if r.ProtoMajor != 1 || b == nil {
		return w, func() {}
	}
	g := &unreadBodyGuard{ResponseWriter: w, body: b}
	return g, func() {
		if !b.idle.SawEOF() {
			// Caddy may still write an error answer on w after the handler: close after it too.
			w.Header().Set("Connection", "close")
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	}
}

func (g *unreadBodyGuard) WriteHeader(status int) {
	if status >= 200 && !g.wroteHeader {
		g.wroteHeader = true
		if !g.body.idle.SawEOF() {
			g.Header().Set("Connection", "close")
		}
	}
	g.ResponseWriter.WriteHeader(status)
}

func (g *unreadBodyGuard) Write(p []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	return g.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (g *unreadBodyGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }
