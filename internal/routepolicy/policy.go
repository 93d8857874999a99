// Package routepolicy decides which Bee API routes a public gateway exposes.
//
// Bee's API has no authentication, so the gateway works from an allowlist: a request is let
// through only when its cleaned, decoded path and method match a content route. Anything else,
// spending and identity routes included, is refused. Checking the cleaned path (and forwarding
// that same path) means no spelling (`//`, `..`, percent-encoding, `/v1/`) reaches a route the
// check did not see.
package routepolicy

import (
	"fmt"
	"net/http"
	"path"
	"strings"
)

// Mode selects how much of Bee's API is exposed.
type Mode string

const (
	// Gateway exposes only content routes, health, readiness, /gateway, / and /robots.txt.
	Gateway Mode = "gateway"
	// All exposes every Bee route.
	All Mode = "all"
)

// ParseMode reads a mode name as written in the configuration.
func ParseMode(s string) (Mode, bool) {
	switch Mode(s) {
	case Gateway, All:
		return Mode(s), true
	case "":
		return Gateway, true
	}
	return "", false
}

// Decision is the outcome of Check.
type Decision struct {
	// Allowed reports whether the request may reach Bee.
	Allowed bool
	// Path is the cleaned path that must be forwarded (trailing slash kept).
	Path string
	// Route is the route without the /v1 prefix, e.g. "/bytes" or "/bzz/{ref}/...".
	Route string
	// Upload reports whether the request is an upload that spends a postage batch.
	Upload bool
}

// CleanPath resolves `.`, `..` and repeated slashes in an already-decoded path, keeps a
// trailing slash, and always returns a rooted path.
func CleanPath(p string) string {
	if isClean(p) {
		return p // the common case, checked in one pass without path.Clean's buffer
	}
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	cleaned := path.Clean(p)
	if cleaned != "/" && strings.HasSuffix(p, "/") {
		cleaned += "/"
	}
	return cleaned
}

// isClean reports whether CleanPath would return p unchanged: rooted, no empty segment
// (`//`) and no `.` or `..` segment.
func isClean(p string) bool {
	if p == "" || p[0] != '/' || strings.Contains(p, "//") {
		return false
	}
	for rest := p; ; {
		i := strings.Index(rest, "/.") // searches run vectorised; most paths have none
		if i < 0 {
			return true
		}
		rest = rest[i+2:]
		if rest == "" || rest[0] == '/' || rest[0] == '.' && (len(rest) == 1 || rest[1] == '/') {
			return false // a `.` or `..` segment
		}
	}
}

// Check classifies a request. decodedPath is r.URL.Path (Go has already percent-decoded it,
// as Bee's router will).
func Check(mode Mode, method, decodedPath string) Decision {
	clean := CleanPath(decodedPath)
	d := Decision{Path: clean}
	route, ok := match(method, stripV1(clean))
	d.Route = route
	d.Allowed = ok || mode == All
	d.Upload = d.Allowed && SpendsBatch(method, clean)
	return d
}

// SpendsBatch reports whether method and path name one of Bee's uploads that take a postage
// batch (docs/bee-api.md, "Uploads that spend a postage batch"). It decides where a batch may be
// injected, under any mode.
func SpendsBatch(method, decodedPath string) bool {
	var buf [segmentsOnStack]string
	seg := segments(buf[:0], stripV1(CleanPath(decodedPath)))
	n := len(seg)
	switch method {
	case http.MethodPost:
		switch seg[0] {
		case "bytes", "bzz", "chunks", "grantee":
			return n == 1
		case "soc", "feeds":
			return n == 3
		case "envelope":
			return n == 2
		case "pss":
			return n == 4 && seg[1] == "send"
		}
	case http.MethodGet:
		return n == 2 && seg[0] == "chunks" && seg[1] == "stream"
	case http.MethodPut:
		return n == 2 && seg[0] == "stewardship"
	case http.MethodPatch:
		return n == 2 && seg[0] == "grantee"
	}
	return false
}

func stripV1(p string) string {
	if p == "/v1" || p == "/v1/" {
		return "/"
	}
	if strings.HasPrefix(p, "/v1/") {
		return p[len("/v1"):]
	}
	return p
}

// segmentsOnStack is how many path segments the policy splits without allocating: every
// request's path goes through here.
const segmentsOnStack = 8

// segments splits a rooted path, appending to dst (strings.Split's result without its
// allocation when dst has room); a trailing slash yields a final empty segment.
func segments(dst []string, p string) []string {
	p = strings.TrimPrefix(p, "/")
	for {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return append(dst, p)
		}
		dst = append(dst, p[:i])
		p = p[i+1:]
	}
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

func isPostOrPreflight(method string) bool {
	return method == http.MethodPost || method == http.MethodOptions
}

// match returns the route pattern and whether the gateway policy allows it.
func match(method, p string) (route string, ok bool) {
	var buf [segmentsOnStack]string
	seg := segments(buf[:0], p)
	nonEmpty := func(s ...string) bool {
		for _, v := range s {
			if v == "" {
				return false
			}
		}
		return true
	}
	switch seg[0] {
	case "", "robots.txt":
		// Clients probe Bee's banner (bee-js checkConnection, swarm-cli status) and crawlers
		// read robots.txt; neither spends nor reveals anything.
		if len(seg) == 1 && isRead(method) {
			return "/" + seg[0], true
		}
	case "health", "readiness", "gateway":
		if len(seg) == 1 && isRead(method) {
			return "/" + seg[0], true
		}
	case "bytes":
		switch {
		case len(seg) == 1 && isPostOrPreflight(method):
			return "/bytes", true
		case len(seg) == 2 && nonEmpty(seg[1]) && isRead(method):
			return "/bytes/{ref}", true
		}
	case "bzz":
		switch {
		case len(seg) == 1 && isPostOrPreflight(method):
			return "/bzz", true
		case len(seg) == 2 && nonEmpty(seg[1]) && isRead(method):
			return "/bzz/{ref}", true
		case len(seg) >= 3 && nonEmpty(seg[1]) && isRead(method):
			return "/bzz/{ref}/...", true
		}
	case "chunks":
		switch {
		case len(seg) == 1 && isPostOrPreflight(method):
			return "/chunks", true
		case len(seg) == 2 && seg[1] == "stream" && method == http.MethodGet:
			return "/chunks/stream", true
		case len(seg) == 2 && nonEmpty(seg[1]) && isRead(method):
			return "/chunks/{addr}", true
		}
	case "soc", "feeds":
		if len(seg) == 3 && nonEmpty(seg[1], seg[2]) {
			if isRead(method) {
				return "/" + seg[0] + "/{owner}/{id}", true
			}
			if method == http.MethodPost {
				return "/" + seg[0] + "/{owner}/{id}", true
			}
		}
	case "stewardship":
		if len(seg) == 2 && nonEmpty(seg[1]) && isRead(method) {
			return "/stewardship/{ref}", true
		}
	}
	return "", false
}

// candidateMethods are the methods a preflight may ask about.
var candidateMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// AllowedMethods lists the methods mode lets through on decodedPath; a CORS preflight
// answers with them.
func AllowedMethods(mode Mode, decodedPath string) []string {
	var out []string
	for _, m := range candidateMethods {
		if Check(mode, m, decodedPath).Allowed {
			out = append(out, m)
		}
	}
	return out
}

// DefaultAPIPrefix is where the plugin's own API lives unless api_prefix says otherwise.
const DefaultAPIPrefix = "/api/v1"

// APIEndpoint returns the part of path after the API prefix, if path is under it.
func APIEndpoint(prefix, path string) (string, bool) {
	// Cleaning only drops segments: a path without the prefix's last segment cannot clean
	// to one under the prefix, and most requests (Bee's routes) skip the cleaning pass.
	if !strings.Contains(path, prefix[strings.LastIndexByte(prefix, '/')+1:]) {
		return "", false
	}
	rest, ok := strings.CutPrefix(CleanPath(path), prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	return rest, true
}

// CheckAPIPrefix refuses an api_prefix that is not a clean path or would hide Bee's routes.
func CheckAPIPrefix(prefix string) error {
	if !strings.HasPrefix(prefix, "/") || prefix == "/" || strings.HasSuffix(prefix, "/") || CleanPath(prefix) != prefix {
		return fmt.Errorf("api_prefix %q: want a clean path such as /api/v1 (leading slash, no trailing slash)", prefix)
	}
	first := strings.SplitN(strings.TrimPrefix(prefix, "/"), "/", 2)[0]
	if d := Check(Gateway, http.MethodGet, "/"+first+"/x"); d.Allowed || first == "v1" {
		return fmt.Errorf("api_prefix %q would hide Bee's /%s routes: choose another prefix such as /api/v1", prefix, first)
	}
	return nil
}
