package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const testRef = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

// recordingUpstream stands in for Bee: it records what reaches it and answers 200 "ok <path>".
type recordingUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, r.Clone(r.Context()))
		u.mu.Unlock()
		w.Header().Set("X-Upstream", "yes")
		fmt.Fprintf(w, "ok %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.seen...)
}

func TestOneLineGatewayProxiesContentRoutes(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")

	resp, err := http.Get(gw.URL + "/bytes/" + testRef)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok GET /bytes/"+testRef, string(body))
	require.Equal(t, "yes", resp.Header.Get("X-Upstream"))

	resp, err = http.Post(gw.URL+"/v1/bytes", "application/octet-stream", strings.NewReader("hello"))
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "ok POST /v1/bytes", string(body))
}

func TestRoutePolicyRefusesAdminRoutesEverySpelling(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	cases := []struct{ method, target string }{
		{"POST", "/stamps/1000000000/17"},
		{"GET", "/stamps"},
		{"GET", "/v1/stamps"},
		{"GET", "/V1/stamps"},
		{"GET", "/STAMPS"},
		{"GET", "/stamps/"},
		{"GET", "//stamps"},
		{"GET", "/bytes/../stamps"},
		{"GET", "/bytes/..%2Fstamps"},
		{"GET", "/stam%70s"},
		{"GET", "/%2e%2e/wallet"},
		{"GET", "/bzz/" + testRef + "/../../wallet"},
		{"POST", "/v1/pins/" + testRef},
		{"GET", "/chequebook/balance"},
		{"DELETE", "/chunks/" + testRef},
		{"PUT", "/stewardship/" + testRef},
		{"GET", "/debug/pprof/"},
		{"PATCH", "/stamps/topup/" + testRef + "/10"},
		{"GET", "/node"},
		{"GET", "/chainstate"},
	}
	for _, c := range cases {
		resp := rawRequest(t, gw.Addr, c.method, c.target)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s: %s", c.method, c.target, body)
		require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		require.NoError(t, json.Unmarshal(body, &e), "%s", body)
		require.Equal(t, 403, e.Code)
		require.Contains(t, e.Message, "does not expose")
	}
	require.Empty(t, up.requests(), "a refused request reached Bee")
}

func TestRoutePolicyForwardsTheCheckedPath(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	resp := rawRequest(t, gw.Addr, "GET", "/v1//bytes/./"+testRef)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, "ok GET /v1/bytes/"+testRef, string(body))
	resp = rawRequest(t, gw.Addr, "GET", "/bzz/"+testRef+"/dir/")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "ok GET /bzz/"+testRef+"/dir/", string(body), "trailing slash must survive")
}

func TestRoutesAllExposesEverything(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+" {\n\t\troutes all\n\t}\n}")
	resp := rawRequest(t, gw.Addr, "GET", "/stamps")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "ok GET /stamps", string(body))
}

func TestReverseProxySubBlockPassesOptionsThrough(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+" {\n\t\treverse_proxy {\n\t\t\theader_up X-Gateway caddy-bee\n\t\t\ttransport http {\n\t\t\t\tdial_timeout 2s\n\t\t\t}\n\t\t}\n\t}\n}")
	resp, err := http.Get(gw.URL + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	reqs := up.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "caddy-bee", reqs[0].Header.Get("X-Gateway"))
}

func TestHandlerWorksAsPlainMiddlewareInJSON(t *testing.T) {
	up := newRecordingUpstream(t)
	gatewayMu.Lock()
	gw := &gateway{Addr: freeAddr(t)}
	gw.URL = "http://" + gw.Addr
	cfg := fmt.Sprintf(`{"admin":{"disabled":true},"storage":{"module":"file_system","root":%q},
	"apps":{"http":{"servers":{"s":{"listen":[%q],"automatic_https":{"disable":true},
	"routes":[{"handle":[{"handler":"bee"},{"handler":"reverse_proxy","upstreams":[{"dial":%q}]}]}]}}}}}`,
		t.TempDir(), gw.Addr, strings.TrimPrefix(up.URL, "http://"))
	startGatewayJSON(t, gw, []byte(cfg))

	resp, err := http.Get(gw.URL + "/bytes/" + testRef)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "ok GET /bytes/"+testRef, string(body))

	resp = rawRequest(t, gw.Addr, "GET", "/wallet")
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}
