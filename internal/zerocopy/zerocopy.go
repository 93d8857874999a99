// Package zerocopy keeps net/http's zero-copy path (sendfile of an *os.File) reachable
// through the gateway's own response writer wrappers.
package zerocopy

import (
	"io"
	"net/http"
)

// ReadFrom copies src to w through w's own ReadFrom when it has one (down the chain to
// net/http's, which sends an *os.File with sendfile), else with io.Copy. A wrapper's
// ReadFrom calls it after doing its own part of a write (headers).
func ReadFrom(w http.ResponseWriter, src io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w}, src)
}

// writerOnly hides everything but Write, so io.Copy cannot loop back into a ReadFrom.
type writerOnly struct{ io.Writer }
