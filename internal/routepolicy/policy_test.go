package routepolicy

import (
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

const ref = testkit.Ref

// adminRoutes: every route the gateway policy refuses, by its sample method.
var adminRoutes = append(append([]testkit.Route(nil), testkit.AdminRoutes...), testkit.RefusedContentMethods...)

func TestGatewayAllowsContentRoutes(t *testing.T) {
	cases := []struct {
		method, path, route string
		upload              bool
	}{
		{"GET", "/health", "/health", false},
		{"GET", "/readiness", "/readiness", false},
		{"GET", "/gateway", "/gateway", false},
		{"GET", "/bytes/" + ref, "/bytes/{ref}", false},
		{"HEAD", "/bytes/" + ref, "/bytes/{ref}", false},
		{"GET", "/v1/bytes/" + ref, "/bytes/{ref}", false},
		{"POST", "/bytes", "/bytes", true},
		{"POST", "/v1/bytes", "/bytes", true},
		{"POST", "/bzz", "/bzz", true},
		{"GET", "/bzz/" + ref, "/bzz/{ref}", false},
		{"GET", "/bzz/" + ref + "/", "/bzz/{ref}/...", false},
		{"GET", "/bzz/" + ref + "/dir/index.html", "/bzz/{ref}/...", false},
		{"GET", "/bzz/site.eth/", "/bzz/{ref}/...", false},
		{"POST", "/chunks", "/chunks", true},
		{"GET", "/chunks/" + ref, "/chunks/{addr}", false},
		{"GET", "/chunks/stream", "/chunks/stream", true},
		{"POST", "/soc/aa/bb", "/soc/{owner}/{id}", true},
		{"GET", "/soc/aa/bb", "/soc/{owner}/{id}", false},
		{"POST", "/feeds/aa/bb", "/feeds/{owner}/{id}", true},
		{"GET", "/feeds/aa/bb", "/feeds/{owner}/{id}", false},
		{"GET", "/stewardship/" + ref, "/stewardship/{ref}", false},
		{"OPTIONS", "/bytes", "/bytes", false},
		{"GET", "/", "/", false},
		{"HEAD", "/", "/", false},
		{"GET", "//", "/", false},
		{"GET", "/robots.txt", "/robots.txt", false},
		{"HEAD", "/robots.txt", "/robots.txt", false},
		{"OPTIONS", "/bzz/" + ref + "/x", "/bzz/{ref}/...", false},
	}
	for _, c := range cases {
		d := Check(Gateway, c.method, c.path)
		if !d.Allowed || d.Route != c.route || d.Upload != c.upload {
			t.Errorf("%s %s: got %+v, want allowed route %q upload %v", c.method, c.path, d, c.route, c.upload)
		}
	}
}

func TestGatewayBlocksAdminRoutesBySpelling(t *testing.T) {
	for _, r := range adminRoutes {
		for _, sp := range testkit.PathSpellings(r.Path) {
			methods := []string{r.Method, strings.ToLower(r.Method)}
			if !contentRoots[segments(nil, r.Path)[0]] {
				methods = append(methods, "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
			}
			for _, m := range methods {
				if d := Check(Gateway, m, sp); d.Allowed {
					t.Errorf("%s %q (from %s %s) allowed as %q", m, sp, r.Method, r.Path, d.Route)
				}
			}
		}
	}
}

func TestPercentEncodedPathsAreDecodedBeforeTheCheck(t *testing.T) {
	for _, raw := range []string{"/stam%70s", "/bytes/..%2Fstamps", "/bytes%2F..%2Fwallet", "/%2e%2e/wallet", "/v1%2Fstamps"} {
		u, err := url.Parse("http://gw" + raw)
		if err != nil {
			t.Fatal(err)
		}
		if d := Check(Gateway, "GET", u.Path); d.Allowed {
			t.Errorf("%s (decoded %q) allowed as %q", raw, u.Path, d.Route)
		}
	}
	u, _ := url.Parse("http://gw/byt%65s/" + ref)
	if d := Check(Gateway, "GET", u.Path); !d.Allowed || d.Path != "/bytes/"+ref {
		t.Errorf("encoded content path: %+v", d)
	}
}

func TestCleanPathKeepsTrailingSlash(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "//": "/", "/bzz/x/": "/bzz/x/", "/bzz/x/.": "/bzz/x", "/a/../b/": "/b/",
		"bytes": "/bytes", "/../../..": "/", "/a//b": "/a/b",
	} {
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// The one-pass check for already clean paths agrees with path.Clean on every path of up to
// six characters over the characters that matter.
func TestCleanPathFastPathAgreesWithPathClean(t *testing.T) {
	var walk func(p string)
	walk = func(p string) {
		if p != "" && p[0] == '/' {
			cleaned := path.Clean(p)
			if cleaned != "/" && strings.HasSuffix(p, "/") {
				cleaned += "/"
			}
			if isClean(p) != (cleaned == p) {
				t.Errorf("isClean(%q) = %v, but path.Clean keeping the trailing slash gives %q", p, isClean(p), cleaned)
			}
		}
		if len(p) == 6 {
			return
		}
		for _, c := range []string{"/", ".", "a"} {
			walk(p + c)
		}
	}
	walk("")
}

func TestModeAllExposesEverything(t *testing.T) {
	for _, r := range adminRoutes {
		if d := Check(All, r.Method, r.Path); !d.Allowed {
			t.Errorf("routes all blocked %s %s", r.Method, r.Path)
		}
	}
	if d := Check(All, "PUT", "/v1/stewardship/"+ref); !d.Upload {
		t.Errorf("PUT /stewardship spends a batch under routes all: %+v", d)
	}
}

func TestSpendsBatchFollowsBeeAPITable(t *testing.T) {
	yes := [][2]string{{"POST", "/bytes"}, {"POST", "/bzz"}, {"POST", "/feeds/a/b"}, {"PUT", "/stewardship/" + ref},
		{"POST", "/envelope/aa"}, {"POST", "/pss/send/t/aa"}, {"POST", "/grantee"}, {"PATCH", "/grantee/" + ref},
		{"POST", "/chunks"}, {"POST", "/soc/a/b"}, {"GET", "/chunks/stream"}, {"POST", "/v1/bytes"}, {"POST", "//bytes"}}
	no := [][2]string{{"GET", "/bytes"}, {"POST", "/bytes/" + ref}, {"POST", "/stamps/1/17"}, {"GET", "/chunks/" + ref},
		{"POST", "/pss/subscribe/t"}, {"PUT", "/bytes"}}
	for _, c := range yes {
		if !SpendsBatch(c[0], c[1]) {
			t.Errorf("SpendsBatch(%s %s) = false", c[0], c[1])
		}
	}
	for _, c := range no {
		if SpendsBatch(c[0], c[1]) {
			t.Errorf("SpendsBatch(%s %s) = true", c[0], c[1])
		}
	}
}

func TestRootAndRobotsAreReadOnly(t *testing.T) {
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, p := range []string{"/", "/robots.txt"} {
			if d := Check(Gateway, m, p); d.Allowed {
				t.Errorf("%s %s allowed", m, p)
			}
		}
	}
	for _, p := range []string{"/robots.txt/x", "/x/robots.txt", "/index.html"} {
		if d := Check(Gateway, "GET", p); d.Allowed {
			t.Errorf("GET %s allowed as %q", p, d.Route)
		}
	}
}

func TestParseMode(t *testing.T) {
	if m, ok := ParseMode(""); !ok || m != Gateway {
		t.Error("empty mode must default to gateway")
	}
	if _, ok := ParseMode("open"); ok {
		t.Error("unknown mode accepted")
	}
}

// contentRoots are the first segments the gateway policy may ever let through.
var contentRoots = map[string]bool{"": true, "robots.txt": true, "health": true, "readiness": true, "gateway": true, "bytes": true,
	"bzz": true, "chunks": true, "soc": true, "feeds": true, "stewardship": true}

func FuzzCheck(f *testing.F) {
	for _, r := range adminRoutes {
		f.Add(r.Method, r.Path)
	}
	f.Add("GET", "/bytes/"+ref)
	f.Add("POST", "/v1/bzz")
	f.Add("GET", "/bzz/x/../../stamps")
	f.Fuzz(func(t *testing.T, method, p string) {
		d := Check(Gateway, method, p)
		if d.Path != CleanPath(d.Path) {
			t.Fatalf("forwarded path %q is not clean", d.Path)
		}
		if !d.Allowed {
			return
		}
		first := segments(nil, stripV1(d.Path))[0]
		if !contentRoots[first] {
			t.Fatalf("%s %q allowed with root %q", method, p, first)
		}
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPost:
		default:
			t.Fatalf("method %q allowed on %q", method, p)
		}
		if method == http.MethodPost && first == "stewardship" {
			t.Fatalf("POST stewardship allowed")
		}
	})
}

func TestAllowedMethods(t *testing.T) {
	for p, want := range map[string]string{
		"/bytes": "POST", "/v1/bytes/" + ref: "GET HEAD", "/feeds/aa/bb": "GET HEAD POST", "/": "GET HEAD",
		"/chunks/stream": "GET HEAD", "/stamps": "", "/stewardship/" + ref: "GET HEAD",
	} {
		if got := strings.Join(AllowedMethods(Gateway, p), " "); got != want {
			t.Errorf("AllowedMethods(gateway, %s) = %q, want %q", p, got, want)
		}
	}
	if got := len(AllowedMethods(All, "/stamps")); got != len(candidateMethods) {
		t.Errorf("routes all allows %d methods on /stamps", got)
	}
}

func TestSegmentsMatchesSplit(t *testing.T) {
	for _, p := range []string{"", "/", "/bytes", "/bytes/", "/a/b/c", "a//b", "/1/2/3/4/5/6/7/8/9/10"} {
		var buf [segmentsOnStack]string
		got := segments(buf[:0], p)
		want := strings.Split(strings.TrimPrefix(p, "/"), "/")
		if !slices.Equal(got, want) {
			t.Errorf("segments(%q) = %q, want %q", p, got, want)
		}
	}
}

// The endpoint is what follows the prefix in the cleaned path, at a segment boundary.
func TestAPIEndpoint(t *testing.T) {
	for path, want := range map[string]string{"/api/v1": "", "/api/v1/status": "/status", "/x/../api/v1//status": "/status", "/api/x/../v1/./status": "/status"} {
		if got, ok := APIEndpoint(DefaultAPIPrefix, path); !ok || got != want {
			t.Errorf("APIEndpoint(%q) = %q, %v; want %q, true", path, got, ok, want)
		}
	}
	for _, path := range []string{"/api/v10", "/api", "/bytes/api/v1", "/bytes/" + strings.Repeat("ab", 32)} {
		if got, ok := APIEndpoint(DefaultAPIPrefix, path); ok {
			t.Errorf("APIEndpoint(%q) = %q, true; want not under the prefix", path, got)
		}
	}
}
