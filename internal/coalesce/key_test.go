package coalesce

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustKey(t *testing.T, r *http.Request) string {
	t.Helper()
	key, ok := Key(r)
	require.True(t, ok, "request should be coalescable")
	return key
}

func TestKeySeparatesEverythingThatChangesTheAnswer(t *testing.T) {
	base := func() *http.Request { return get("http://gw/bzz/abc/index.html?x=1") }
	variants := map[string]func(r *http.Request){
		"method HEAD":     func(r *http.Request) { r.Method = http.MethodHead },
		"host":            func(r *http.Request) { r.Host = "other" },
		"path":            func(r *http.Request) { r.URL.Path = "/bzz/abc/other.html" },
		"query":           func(r *http.Request) { r.URL.RawQuery = "x=2" },
		"scheme":          func(r *http.Request) { r.TLS = &tls.ConnectionState{} },
		"Range":           func(r *http.Request) { r.Header.Set("Range", "bytes=0-1") },
		"If-None-Match":   func(r *http.Request) { r.Header.Set("If-None-Match", `"a"`) },
		"If-Range":        func(r *http.Request) { r.Header.Set("If-Range", `"a"`) },
		"Origin":          func(r *http.Request) { r.Header.Set("Origin", "https://app.example") },
		"Accept-Encoding": func(r *http.Request) { r.Header.Set("Accept-Encoding", "gzip") },
		"Swarm-*":         func(r *http.Request) { r.Header.Set("Swarm-Cache", "false") },
		"Swarm-* lower":   func(r *http.Request) { r.Header["swarm-act"] = []string{"true"} },
		"two values":      func(r *http.Request) { r.Header["Swarm-X"] = []string{"a", "b"} },
	}
	plain := mustKey(t, base())
	seen := map[string]string{plain: "base"}
	for name, change := range variants {
		r := base()
		change(r)
		key := mustKey(t, r)
		if other, dup := seen[key]; dup {
			t.Errorf("%s shares its key with %s", name, other)
		}
		seen[key] = name
	}
}

func TestKeyIgnoresWhatDoesNotChangeTheAnswer(t *testing.T) {
	a := get("http://gw/bzz/abc")
	b := get("http://gw/bzz/abc")
	b.Header.Set("User-Agent", "curl")
	b.Header.Set("X-Forwarded-For", "10.0.0.1")
	b.Header.Set("Accept", "*/*")
	assert.Equal(t, mustKey(t, a), mustKey(t, b))

	// Header names are case-insensitive; header order in the map is irrelevant.
	c := get("http://gw/bzz/abc")
	c.Header["swarm-cache"] = []string{"false"}
	c.Header["range"] = []string{"bytes=0-1"}
	d := get("http://gw/bzz/abc")
	d.Header.Set("Range", "bytes=0-1")
	d.Header.Set("Swarm-Cache", "false")
	assert.Equal(t, mustKey(t, c), mustKey(t, d))
}

func TestKeyIsUnambiguous(t *testing.T) {
	// Shifting bytes between adjacent fields must change the key.
	a := get("http://gw/bzz/ab?c")
	b := get("http://gw/bzz/a?bc")
	assert.NotEqual(t, mustKey(t, a), mustKey(t, b))

	c := get("http://gw/x")
	c.Header["Swarm-A"] = []string{"b,c"}
	d := get("http://gw/x")
	d.Header["Swarm-A"] = []string{"b", "c"}
	assert.NotEqual(t, mustKey(t, c), mustKey(t, d))

	e := get("http://gw/x")
	e.Header.Set("Swarm-Ab", "c")
	f := get("http://gw/x")
	f.Header.Set("Swarm-A", "bc")
	assert.NotEqual(t, mustKey(t, e), mustKey(t, f))
}

func TestKeyBypass(t *testing.T) {
	bypass := map[string]*http.Request{
		"POST":               httpRequest(context.Background(), http.MethodPost, "http://gw/bytes"),
		"Authorization":      withHeader(get("http://gw/x"), "Authorization", "Bearer t"),
		"Cookie":             withHeader(get("http://gw/x"), "Cookie", "a=1"),
		"lower cookie":       func() *http.Request { r := get("http://gw/x"); r.Header["cookie"] = []string{"a=1"}; return r }(),
		"Connection upgrade": withHeader(get("http://gw/x"), "Connection", "keep-alive, Upgrade"),
		"Upgrade":            withHeader(get("http://gw/x"), "Upgrade", "websocket"),
		"event stream":       withHeader(get("http://gw/x"), "Accept", "text/html, Text/Event-Stream"),
		"GET with a body":    func() *http.Request { r := get("http://gw/x"); r.ContentLength = 5; return r }(),
		"chunked GET body":   func() *http.Request { r := get("http://gw/x"); r.TransferEncoding = []string{"chunked"}; return r }(),
	}
	for name, r := range bypass {
		_, ok := Key(r)
		assert.False(t, ok, name)
	}
	for _, r := range []*http.Request{
		withHeader(get("http://gw/x"), "Connection", "keep-alive"),
		withHeader(get("http://gw/x"), "Accept", "application/json"),
		httpRequest(context.Background(), http.MethodHead, "http://gw/x"),
	} {
		_, ok := Key(r)
		assert.True(t, ok, "%s %v", r.Method, r.Header)
	}
}

func TestPrefixPoolRoundTrip(t *testing.T) {
	for _, n := range []int{1, 4 << 10, 4<<10 + 1, 20 << 10, 64 << 10} {
		size := prefixClassSize(n)
		if size < n || size&(size-1) != 0 || size > joinPrefixLimit {
			t.Fatalf("prefixClassSize(%d) = %d: want the next power of two up to %d", n, size, joinPrefixLimit)
		}
		b := getPrefix(size)
		if len(b) != 0 || cap(b) != size {
			t.Fatalf("getPrefix(%d): len %d cap %d", size, len(b), cap(b))
		}
		putPrefix(append(b, 1))
		if again := getPrefix(size); len(again) != 0 || cap(again) != size {
			t.Fatalf("getPrefix(%d) after put: len %d cap %d", size, len(again), cap(again))
		}
	}
	putPrefix(make([]byte, 100)) // not a class size: dropped, no panic
}
