// Package cors decides the gateway's Cross-Origin Resource Sharing answers: which origins
// may read responses, what a preflight allows and which response headers browsers may read.
// The gateway owns these headers: it replaces whatever Bee sent, so each answer carries one
// Access-Control-Allow-Origin, and it never allows credentials (the content is public; no
// cookie or TLS client certificate is ever needed to read or upload it).
package cors

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxAge is how long, in seconds, a browser may cache a preflight answer (Chromium caps it
// at 7200).
const MaxAge = "3600"

// BeeRequestHeaders are the request headers a browser may send to Bee's routes: every header
// Bee v2.8.1 lists for CORS and every header bee-js 12 and swarm-cli send.
var BeeRequestHeaders = []string{
	"Accept", "Authorization", "Cache-Control", "Content-Disposition", "Content-Type",
	"If-Match", "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since", "Range",
	"X-Requested-With",
	"Swarm-Act", "Swarm-Act-History-Address", "Swarm-Act-Publisher", "Swarm-Act-Timestamp",
	"Swarm-Cache", "Swarm-Chunk-Retrieval-Timeout", "Swarm-Collection", "Swarm-Deferred-Upload",
	"Swarm-Encrypt", "Swarm-Error-Document", "Swarm-Feed-Index", "Swarm-Feed-Index-Next",
	"Swarm-Index-Document", "Swarm-Lookahead-Buffer-Size", "Swarm-Only-Root-Chunk", "Swarm-Pin",
	"Swarm-Postage-Batch-Id", "Swarm-Postage-Stamp", "Swarm-Redundancy-Fallback-Mode",
	"Swarm-Redundancy-Level", "Swarm-Redundancy-Strategy", "Swarm-Soc-Signature", "Swarm-Tag",
}

// BeeResponseHeaders are the response headers of Bee's routes that clients read and that are
// not CORS-safelisted: bee-js reads Swarm-Tag after uploads, Content-Disposition for file
// names, the feed indexes for feeds; ETag and ranges matter to any downloader; Retry-After
// comes with the gateway's own 503 when no batch is usable.
var BeeResponseHeaders = []string{
	"Accept-Ranges", "Content-Disposition", "Content-Encoding", "Content-Length", "Content-Range",
	"ETag", "Retry-After",
	"Swarm-Act-History-Address", "Swarm-Feed-Index", "Swarm-Feed-Index-Next",
	"Swarm-Feed-Resolved-Version", "Swarm-Soc-Signature", "Swarm-Tag", "Swarm-Tag-Uid",
}

// APIRequestHeaders and APIResponseHeaders are the same for the plugin's own JSON API.
var (
	APIRequestHeaders  = []string{"Authorization", "Content-Type"}
	APIResponseHeaders = []string{"Retry-After"}
)

// Policy is the CORS configuration of one class of routes.
type Policy struct {
	any           bool
	origins       map[string]bool // lower-cased
	allowHeaders  string
	exposeHeaders string
}

// New validates origins (`*`, or scheme://host[:port] as browsers send them in Origin) and
// returns a policy that allows requestHeaders in preflights and exposes responseHeaders.
func New(origins, requestHeaders, responseHeaders []string) (*Policy, error) {
	if len(origins) == 0 {
		return nil, fmt.Errorf("cors: no origin given; want `*` or origins such as https://app.example")
	}
	p := &Policy{
		origins:       map[string]bool{},
		allowHeaders:  strings.Join(requestHeaders, ", "),
		exposeHeaders: strings.Join(responseHeaders, ", "),
	}
	for _, o := range origins {
		if o == "*" {
			p.any = true
			continue
		}
		if err := ValidateOrigin(o); err != nil {
			return nil, err
		}
		p.origins[strings.ToLower(o)] = true
	}
	if p.any && len(p.origins) > 0 {
		return nil, fmt.Errorf("cors: `*` already allows every origin; list either `*` or origins, not both")
	}
	return p, nil
}

// ValidateOrigin accepts an origin exactly as a browser serialises it: scheme, host and an
// optional port, nothing else (no path, not even a trailing slash).
func ValidateOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return fmt.Errorf("cors origin %q: want `*` or scheme://host[:port] with no path, e.g. https://app.example", o)
	}
	return nil
}

// AllowOrigin returns the Access-Control-Allow-Origin value for a request's Origin header:
// `*` when every origin is allowed, the origin itself when it is listed, else false.
func (p *Policy) AllowOrigin(origin string) (string, bool) {
	if p.any {
		return "*", true
	}
	if origin != "" && p.origins[strings.ToLower(origin)] {
		return origin, true
	}
	return "", false
}

// AnyOrigin reports whether the policy allows every origin.
func (p *Policy) AnyOrigin() bool { return p.any }

// IsPreflight reports whether r is a CORS preflight request.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// SetResponse makes h (an answer's headers, possibly Bee's) carry exactly the gateway's CORS
// headers for a request from origin: any Access-Control-* header already there is removed,
// then the allowed origin and the exposed headers are set. Vary: Origin is added when the
// answer depends on the origin.
func (p *Policy) SetResponse(h http.Header, origin string) {
	p.setResponse(h, origin, new([2]string))
}

// setResponse is SetResponse with the values kept in store, which h then references: a
// Writer passes its own, so an answer costs no allocation for them. The three-index
// slices keep an append to one value from writing into the other.
func (p *Policy) setResponse(h http.Header, origin string, store *[2]string) {
	clearCORS(h)
	p.varyOrigin(h)
	allowed, ok := p.AllowOrigin(origin)
	if !ok {
		return
	}
	store[0], store[1] = allowed, p.exposeHeaders
	vs := store[:]
	h["Access-Control-Allow-Origin"] = vs[0:1:1]
	if p.exposeHeaders != "" {
		h["Access-Control-Expose-Headers"] = vs[1:2:2]
	}
}

// SetPreflight fills h for a preflight from origin to a route that accepts methods, and
// reports whether the origin is allowed (when it is not, h carries no CORS header and the
// browser refuses the actual request).
func (p *Policy) SetPreflight(h http.Header, origin string, methods []string) bool {
	clearCORS(h)
	p.varyOrigin(h)
	allowed, ok := p.AllowOrigin(origin)
	if !ok {
		return false
	}
	h.Set("Access-Control-Allow-Origin", allowed)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	if p.allowHeaders != "" {
		h.Set("Access-Control-Allow-Headers", p.allowHeaders)
	}
	h.Set("Access-Control-Max-Age", MaxAge)
	return true
}

func (p *Policy) varyOrigin(h http.Header) {
	if p.any {
		return
	}
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); strings.EqualFold(f, "Origin") || f == "*" {
				return
			}
		}
	}
	h.Add("Vary", "Origin")
}

// clearCORS removes every Access-Control-* response header (Bee's included).
func clearCORS(h http.Header) {
	for name := range h {
		if len(name) > len("Access-Control-") && strings.EqualFold(name[:len("Access-Control-")], "Access-Control-") {
			delete(h, name)
		}
	}
}
