package beesim

import (
	"net/http"
	"strings"
)

// Bee's plain routes and its CORS behaviour (docs/bee-api.md, "Plain routes"; Bee v2.8.1
// pkg/api/router.go, corsHandler in pkg/api/api.go, jsonhttp.HandleMethods).

// beeCORSAllowedHeaders is what Bee lists in Access-Control-Allow-Headers.
const beeCORSAllowedHeaders = "User-Agent, Accept, X-Requested-With, Access-Control-Request-Headers, " +
	"Access-Control-Request-Method, Accept-Ranges, Content-Encoding, Authorization, Accept-Encoding, " +
	"Content-Type, Content-Disposition, Range, Origin, Swarm-Tag, Swarm-Pin, Swarm-Encrypt, " +
	"Swarm-Index-Document, Swarm-Error-Document, Swarm-Collection, Swarm-Postage-Batch-Id, " +
	"Swarm-Postage-Stamp, Swarm-Deferred-Upload, Swarm-Redundancy-Level, Swarm-Redundancy-Strategy, " +
	"Swarm-Redundancy-Fallback-Mode, Swarm-Chunk-Retrieval-Timeout, Swarm-Lookahead-Buffer-Size, " +
	"Swarm-Feed-Index, Swarm-Feed-Index-Next, Swarm-Soc-Signature, Swarm-Only-Root-Chunk, Gas-Price, " +
	"Gas-Limit, Immutable, Swarm-Act, Swarm-Act-Timestamp, Swarm-Act-Publisher, Swarm-Act-History-Address"

// servePlain answers GET / and GET /robots.txt (any method, as Bee's HandleFunc does).
func servePlain(w http.ResponseWriter, r *http.Request) bool {
	var body string
	switch r.URL.Path {
	case "/":
		body = "Ethereum Swarm Bee\n"
	case "/robots.txt":
		body = "User-agent: *\nDisallow: /\n"
	default:
		return false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
	return true
}

// setCORS adds Bee's CORS headers when the request's Origin is allowed: one of the
// configured origins, `*`, or the request's own host. Bee sets them on every answer,
// preflight or not, and allows credentials.
func (s *Sim) setCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.opts.CORSAllowedOrigins) == 0 {
		return false
	}
	allowed := strings.EqualFold(origin, "http://"+r.Host)
	for _, o := range s.opts.CORSAllowedOrigins {
		allowed = allowed || o == "*" || strings.EqualFold(o, origin)
	}
	if !allowed {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Headers", beeCORSAllowedHeaders)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS, POST, PUT, DELETE")
	h.Set("Access-Control-Max-Age", "3600")
	return true
}

// serveOptions answers OPTIONS on a known route with 204 and the route's methods: in Allow,
// or in Access-Control-Allow-Methods when CORS headers were set.
func (s *Sim) serveOptions(w http.ResponseWriter, seg []string, cors bool) bool {
	methods := s.allowedMethods(seg)
	if methods == nil {
		return false
	}
	if cors {
		w.Header().Set("Access-Control-Allow-Methods", allowHeader(methods))
	} else {
		w.Header().Set("Allow", allowHeader(methods))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// exposeWriter adds the Access-Control-Expose-Headers Bee's handlers set on successful
// answers: Swarm-Tag on uploads, Content-Disposition on /bzz downloads, the feed indexes
// on feed lookups, Accept-Ranges and Content-Encoding on HEAD of /bytes.
type exposeWriter struct {
	http.ResponseWriter
	expose string
	wrote  bool
}

func newExposeWriter(w http.ResponseWriter, r *http.Request, seg []string) http.ResponseWriter {
	var expose string
	switch {
	case r.Method == http.MethodPost && (seg[0] == "bytes" || seg[0] == "bzz" || seg[0] == "chunks" || seg[0] == "soc"):
		expose = "Swarm-Tag"
	case r.Method == http.MethodGet && seg[0] == "bzz" && len(seg) >= 3:
		expose = "Content-Disposition"
	case r.Method == http.MethodGet && seg[0] == "feeds":
		expose = "Swarm-Feed-Index, Swarm-Feed-Index-Next, Swarm-Soc-Signature"
	case r.Method == http.MethodHead && seg[0] == "bytes":
		expose = "Accept-Ranges, Content-Encoding"
	default:
		return w
	}
	return &exposeWriter{ResponseWriter: w, expose: expose}
}

func (e *exposeWriter) WriteHeader(status int) {
	if !e.wrote {
		e.wrote = true
		if status >= 200 && status < 300 {
			e.Header().Add("Access-Control-Expose-Headers", e.expose)
		}
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *exposeWriter) Write(p []byte) (int, error) {
	if !e.wrote {
		e.WriteHeader(http.StatusOK)
	}
	return e.ResponseWriter.Write(p)
}

func (e *exposeWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
