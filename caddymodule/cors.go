package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

// CORSConfig configures Cross-Origin Resource Sharing, so dapps on other origins can use the
// gateway from a browser. The gateway answers preflights itself and sets the
// Access-Control-* headers of every answer (replacing Bee's); it never allows credentials.
type CORSConfig struct {
	// Disabled leaves CORS on Bee's routes to Bee (`cors off`): preflights and headers pass
	// through untouched.
	Disabled bool `json:"disabled,omitempty"`

	// Origins that may use Bee's routes: `*` or origins such as `https://app.example`.
	// Default: `*` (the content is public anyway).
	Origins []string `json:"origins,omitempty"`

	// APIOrigins that may use the plugin's own API (api_prefix). Default: none, the API
	// answers no CORS request.
	APIOrigins []string `json:"api_origins,omitempty"`
}

// apiMethods are the methods of the plugin's API endpoints.
func apiMethods() []string { return []string{http.MethodGet, http.MethodHead, http.MethodPost} }

// provisionCORS builds the policies: `*` on Bee's routes unless configured otherwise, none on
// the API unless api origins are listed.
func (h *Handler) provisionCORS() error {
	c := h.CORS
	if c == nil {
		c = &CORSConfig{}
	}
	if !c.Disabled {
		origins := c.Origins
		if len(origins) == 0 {
			origins = []string{"*"}
		}
		p, err := cors.New(origins, cors.BeeRequestHeaders, cors.BeeResponseHeaders)
		if err != nil {
			return err
		}
		h.beeCORS = p
	} else if len(c.Origins) > 0 {
		return fmt.Errorf("cors: off and origins %q together; choose one", c.Origins)
	}
	if len(c.APIOrigins) > 0 {
		p, err := cors.New(c.APIOrigins, cors.APIRequestHeaders, cors.APIResponseHeaders)
		if err != nil {
			return fmt.Errorf("cors api: %w", err)
		}
		h.apiCORS = p
	}
	return nil
}

// withCORS applies policy (nil: none) to a request. A preflight is answered here (done);
// any other request gets a writer that sets the CORS headers on its answer, replacing
// whatever the upstream sent. routeMethods lists what the route accepts.
func (h *Handler) withCORS(w http.ResponseWriter, r *http.Request, policy *cors.Policy, routeMethods func() []string) (http.ResponseWriter, bool, error) {
	if policy == nil {
		return w, false, nil
	}
	origin := r.Header.Get("Origin")
	if cors.IsPreflight(r) {
		methods := routeMethods()
		requested := strings.ToUpper(strings.TrimSpace(r.Header.Get("Access-Control-Request-Method")))
		if !slices.Contains(methods, requested) {
			return w, true, writeBeeError(w, http.StatusForbidden, "Forbidden: this gateway does not expose "+
				requested+" "+routepolicy.CleanPath(r.URL.Path)+" (route policy: "+string(h.mode)+")")
		}
		if !policy.SetPreflight(w.Header(), origin, methods) {
			return w, true, writeBeeError(w, http.StatusForbidden, "Forbidden: origin "+origin+
				" is not allowed by this gateway's cors option")
		}
		w.WriteHeader(http.StatusNoContent)
		return w, true, nil
	}
	// Browsers send no preflight for WebSockets: the origin is checked here.
	if origin != "" && !policy.AnyOrigin() && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		if _, ok := policy.AllowOrigin(origin); !ok {
			return w, true, writeBeeError(w, http.StatusForbidden, "Forbidden: origin "+origin+
				" is not allowed by this gateway's cors option")
		}
	}
	return &corsWriter{ResponseWriter: w, policy: policy, origin: origin}, false, nil
}

// corsWriter sets the gateway's CORS headers on the answer once, when its header is written,
// so they replace Bee's whichever path (proxy, coalescer, injection retry) produced it.
type corsWriter struct {
	http.ResponseWriter
	policy *cors.Policy
	origin string
	done   bool
	next   caddyhttp.Handler // set by corsOnError
}

func (c *corsWriter) apply() {
	if !c.done {
		c.done = true
		c.policy.SetResponse(c.Header(), c.origin)
	}
}

func (c *corsWriter) WriteHeader(status int) {
	if status >= 200 || status == http.StatusSwitchingProtocols {
		c.apply()
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *corsWriter) Write(p []byte) (int, error) {
	c.apply()
	return c.ResponseWriter.Write(p)
}

// Flush commits the header (with the CORS headers) like a Flush of the inner writer would.
func (c *corsWriter) Flush() {
	c.apply()
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

// corsOnError makes an error answer of next carry the CORS headers too: Caddy writes it (a
// 502 when Bee is down) on the header map w shares, so a browser can read the status.
func corsOnError(w http.ResponseWriter, next caddyhttp.Handler) caddyhttp.Handler {
	c, ok := w.(*corsWriter)
	if !ok {
		return next
	}
	c.next = next
	return (*corsOnErrorHandler)(c) // no closure: this runs on every request
}

// corsOnErrorHandler is a corsWriter seen as the handler that runs its next.
type corsOnErrorHandler corsWriter

func (h *corsOnErrorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	c := (*corsWriter)(h)
	err := c.next.ServeHTTP(w, r)
	if err != nil {
		c.apply()
	}
	return err
}

// ReadFrom keeps the inner writer's zero-copy path (sendfile from an *os.File) reachable
// through this wrapper: io.Copy only uses it when every writer in the chain has it.
func (c *corsWriter) ReadFrom(src io.Reader) (int64, error) {
	c.apply()
	return copyToWriter(c.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the connection (Hijack for WebSockets, deadlines).
func (c *corsWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// unmarshalCORS reads `cors off`, `cors <origin>...` and an optional block
// `{ api <origin>... }`.
func (h *Handler) unmarshalCORS(d *caddyfile.Dispenser) error {
	if h.CORS != nil {
		return d.Errf("cors: declared twice")
	}
	c := new(CORSConfig)
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == "off":
		c.Disabled = true
	case len(args) > 0:
		for _, o := range args {
			if o == "off" {
				return d.Errf("cors: `off` stands alone; to allow origins, list them without it")
			}
		}
		c.Origins = args
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "api":
			if c.APIOrigins != nil {
				return d.Errf("cors api: declared twice")
			}
			c.APIOrigins = d.RemainingArgs()
			if len(c.APIOrigins) == 0 {
				return d.Errf("cors api: want one or more origins (or *) allowed on the plugin's API")
			}
		default:
			return d.Errf("unknown cors option %q: want api", d.Val())
		}
	}
	if !c.Disabled && len(c.Origins) == 0 && len(c.APIOrigins) == 0 {
		return d.Errf("cors: want `off`, `*` or one or more origins such as https://app.example")
	}
	for _, list := range [][]string{c.Origins, c.APIOrigins} {
		if len(list) > 0 {
			if _, err := cors.New(list, nil, nil); err != nil {
				return d.Err(err.Error())
			}
		}
	}
	h.CORS = c
	return nil
}
