package cors

import (
	"net/http"
	"strings"
	"testing"
)

func beePolicy(t *testing.T, origins ...string) *Policy {
	t.Helper()
	p, err := New(origins, BeeRequestHeaders, BeeResponseHeaders)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnyOriginReplacesBeesHeaders(t *testing.T) {
	p := beePolicy(t, "*")
	h := http.Header{}
	// What Bee sends with --cors-allowed-origins: the origin echoed, with credentials.
	h.Set("Access-Control-Allow-Origin", "http://app.example")
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", "Swarm-Tag")
	h.Set("access-control-max-age", "3600")
	p.SetResponse(h, "http://app.example")
	if got := h.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "*" {
		t.Errorf("Allow-Origin = %q, want exactly one *", got)
	}
	if h.Get("Access-Control-Allow-Credentials") != "" || h.Get("access-control-max-age") != "" {
		t.Errorf("Bee's credentials or max-age survived: %v", h)
	}
	for _, want := range []string{"Swarm-Tag", "ETag", "Content-Disposition", "Swarm-Feed-Index", "Swarm-Feed-Index-Next", "Swarm-Act-History-Address"} {
		if !strings.Contains(h.Get("Access-Control-Expose-Headers"), want) {
			t.Errorf("%s not exposed: %q", want, h.Get("Access-Control-Expose-Headers"))
		}
	}
	if h.Get("Vary") != "" {
		t.Errorf("Vary set for *: %q", h.Get("Vary"))
	}
}

func TestListedOriginsEchoAndVary(t *testing.T) {
	p := beePolicy(t, "https://app.example", "http://127.0.0.1:8080")
	h := http.Header{"Vary": {"Accept-Encoding"}}
	p.SetResponse(h, "HTTPS://APP.example")
	if h.Get("Access-Control-Allow-Origin") != "HTTPS://APP.example" {
		t.Errorf("listed origin not echoed: %v", h)
	}
	if v := h.Values("Vary"); len(v) != 2 || v[1] != "Origin" {
		t.Errorf("Vary = %q", v)
	}
	p.SetResponse(h, "https://app.example")
	if v := h.Values("Vary"); len(v) != 2 {
		t.Errorf("Vary: Origin duplicated: %q", v)
	}

	h = http.Header{"Access-Control-Allow-Origin": {"https://evil.example"}}
	p.SetResponse(h, "https://evil.example")
	if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Expose-Headers") != "" {
		t.Errorf("unlisted origin allowed: %v", h)
	}
	if h.Get("Vary") != "Origin" {
		t.Errorf("a refused origin's answer must vary too: %v", h)
	}
	p.SetResponse(h, "")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no Origin, but allowed: %v", h)
	}
}

func TestPreflight(t *testing.T) {
	p := beePolicy(t, "*")
	h := http.Header{}
	if !p.SetPreflight(h, "http://a.example", []string{"GET", "HEAD", "POST"}) {
		t.Fatal("preflight refused")
	}
	if h.Get("Access-Control-Allow-Methods") != "GET, HEAD, POST" || h.Get("Access-Control-Max-Age") != MaxAge {
		t.Errorf("preflight headers: %v", h)
	}
	allow := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
	for _, want := range []string{"swarm-postage-batch-id", "swarm-postage-stamp", "swarm-tag", "swarm-pin",
		"swarm-encrypt", "swarm-collection", "swarm-index-document", "swarm-error-document",
		"swarm-deferred-upload", "swarm-redundancy-level", "swarm-act", "swarm-act-history-address",
		"swarm-act-publisher", "swarm-act-timestamp", "content-type", "range"} {
		if !strings.Contains(", "+allow+",", ", "+want+",") {
			t.Errorf("%s not allowed in preflight: %q", want, allow)
		}
	}
	if h.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed")
	}

	p = beePolicy(t, "https://app.example")
	h = http.Header{}
	if p.SetPreflight(h, "https://other.example", []string{"GET"}) || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unlisted origin passed preflight: %v", h)
	}
}

func TestNewValidatesOrigins(t *testing.T) {
	for _, bad := range [][]string{nil, {"app.example"}, {"https://app.example/"}, {"https://app.example/x"},
		{"*", "https://app.example"}, {"https://user@app.example"}, {"null"}, {"https://app.example?x"}} {
		if _, err := New(bad, nil, nil); err == nil {
			t.Errorf("origins %q accepted", bad)
		}
	}
	for _, good := range [][]string{{"*"}, {"https://app.example"}, {"http://127.0.0.1:3000", "https://[::1]:8443"},
		{"chrome-extension://abcdefgh"}} {
		if _, err := New(good, nil, nil); err != nil {
			t.Errorf("origins %q refused: %v", good, err)
		}
	}
}

func TestIsPreflight(t *testing.T) {
	r, _ := http.NewRequest(http.MethodOptions, "http://gw/bytes", nil)
	if IsPreflight(r) {
		t.Error("a bare OPTIONS is not a preflight")
	}
	r.Header.Set("Origin", "http://a.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	if !IsPreflight(r) {
		t.Error("preflight not recognised")
	}
}
