package cors

import (
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/zerocopy"
)

// Wrap applies p (nil: none) to a request. A preflight is answered here (done); any other
// request gets a writer that sets the CORS headers on its answer, replacing whatever the
// upstream sent. routeMethods lists what the route accepts; mode names the route policy in
// refusals.
func (p *Policy) Wrap(w http.ResponseWriter, r *http.Request, routeMethods func() []string, mode routepolicy.Mode) (http.ResponseWriter, bool, error) {
	if p == nil {
		return w, false, nil
	}
	origin := r.Header.Get("Origin")
	if IsPreflight(r) {
		methods := routeMethods()
		requested := strings.ToUpper(strings.TrimSpace(r.Header.Get("Access-Control-Request-Method")))
		if !slices.Contains(methods, requested) {
			return w, true, beeerror.Write(w, http.StatusForbidden, "Forbidden: this gateway does not expose "+
				requested+" "+routepolicy.CleanPath(r.URL.Path)+" (route policy: "+string(mode)+")")
		}
		if !p.SetPreflight(w.Header(), origin, methods) {
			return w, true, beeerror.Write(w, http.StatusForbidden, "Forbidden: origin "+origin+
				" is not allowed by this gateway's cors option")
		}
		w.WriteHeader(http.StatusNoContent)
		return w, true, nil
	}
	// Browsers send no preflight for WebSockets: the origin is checked here.
	if origin != "" && !p.AnyOrigin() && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		if _, ok := p.AllowOrigin(origin); !ok {
			return w, true, beeerror.Write(w, http.StatusForbidden, "Forbidden: origin "+origin+
				" is not allowed by this gateway's cors option")
		}
	}
	return &Writer{ResponseWriter: w, policy: p, origin: origin}, false, nil
}

// Writer sets the gateway's CORS headers on the answer once, when its header is written,
// so they replace Bee's whichever path (proxy, coalescer, injection retry) produced it.
type Writer struct {
	http.ResponseWriter
	policy *Policy
	origin string
	done   bool
	values [2]string // the CORS header values the answer's header references
}

func (c *Writer) apply() {
	if !c.done {
		c.done = true
		c.policy.setResponse(c.Header(), c.origin, &c.values)
	}
}

// WriteHeader sets the CORS headers on a final (or 101) answer.
func (c *Writer) WriteHeader(status int) {
	if status >= 200 || status == http.StatusSwitchingProtocols {
		c.apply()
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *Writer) Write(p []byte) (int, error) {
	c.apply()
	return c.ResponseWriter.Write(p)
}

// Flush commits the header (with the CORS headers) like a Flush of the inner writer would.
func (c *Writer) Flush() {
	c.apply()
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

// ReadFrom keeps the inner writer's zero-copy path (sendfile from an *os.File) reachable
// through this wrapper: io.Copy only uses it when every writer in the chain has it.
func (c *Writer) ReadFrom(src io.Reader) (int64, error) {
	c.apply()
	return zerocopy.ReadFrom(c.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the connection (Hijack for WebSockets, deadlines).
func (c *Writer) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// OnError gives the server's error answer to a request (a 502 when Bee is down) the CORS
// headers too, when w is a Writer and err is not nil, so a browser can read the status; it
// returns err. Call it on the request's own goroutine once its handler returned: the
// server writes that answer on the header map w shares. (Inside the handler chain it could
// run on the coalescer's upstream goroutine, on the map of a leader whose request already
// ended while the server wrote its answer on it.)
func OnError(w http.ResponseWriter, err error) error {
	if c, ok := w.(*Writer); ok && err != nil {
		c.apply()
	}
	return err
}
