package caddymodule

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// startCORSSimulator is a simulator run like `bee --cors-allowed-origins=*`: it echoes every
// origin and allows credentials, which the gateway must replace.
func startCORSSimulator(t *testing.T) *simulator {
	t.Helper()
	sim := beesim.New(beesim.Options{BlockTime: testBlockTime, CORSAllowedOrigins: []string{"*"}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &simulator{Sim: sim, URL: srv.URL}
}

func corsRequest(t *testing.T, method, url, origin string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

const appOrigin = "http://app.example"

// The default: the gateway answers preflights on content routes itself, for any origin,
// without credentials; refused routes fail the preflight.
func TestCORSDefaultPreflight(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")

	resp, _ := corsRequest(t, http.MethodOptions, gw.URL+"/bytes", appOrigin,
		"Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "swarm-postage-batch-id,swarm-tag,content-type")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, []string{"*"}, resp.Header.Values("Access-Control-Allow-Origin"))
	require.Equal(t, "POST", resp.Header.Get("Access-Control-Allow-Methods"))
	allow := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"swarm-postage-batch-id", "swarm-tag", "content-type", "swarm-collection", "swarm-act"} {
		require.Contains(t, allow, h)
	}
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))
	require.NotEmpty(t, resp.Header.Get("Access-Control-Max-Age"))

	resp, _ = corsRequest(t, http.MethodOptions, gw.URL+"/bzz/"+testRef+"/index.html", appOrigin,
		"Access-Control-Request-Method", "GET")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Access-Control-Allow-Methods"))

	for _, c := range [][2]string{{"POST", "/stamps/1000/17"}, {"DELETE", "/chunks/" + testRef}, {"GET", "/wallet"}, {"PUT", "/bytes"}} {
		resp, body := corsRequest(t, http.MethodOptions, gw.URL+c[1], appOrigin, "Access-Control-Request-Method", c[0])
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s", c[0], c[1])
		require.Contains(t, body, "does not expose")
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	require.Empty(t, up.requests(), "a preflight reached Bee")

	// A plain OPTIONS (no preflight) is Bee's to answer.
	resp, _ = corsRequest(t, http.MethodOptions, gw.URL+"/bytes", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, up.requests(), 1)

	// Bee never sees the Origin: the gateway owns CORS.
	resp, _ = corsRequest(t, http.MethodGet, gw.URL+"/bytes/"+testRef, appOrigin)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, up.requests(), 2)
	require.Empty(t, up.requests()[1].Header.Get("Origin"))
}

// Answers carry exactly one Access-Control-Allow-Origin, the gateway's, whatever Bee sent,
// and expose the headers clients read; Bee never sees the Origin.
func TestCORSReplacesBeesHeadersOnAnswers(t *testing.T) {
	sim := startCORSSimulator(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+"\n}")
	ref := sim.AddContent(bytes.Repeat([]byte("x"), 10_000))

	for _, target := range []string{"/bytes/" + ref, "/", "/robots.txt", "/health"} {
		resp, body := corsRequest(t, http.MethodGet, gw.URL+target, appOrigin)
		require.Equal(t, http.StatusOK, resp.StatusCode, target)
		require.Equal(t, []string{"*"}, resp.Header.Values("Access-Control-Allow-Origin"), target)
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"), target)
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Methods"), target)
		expose := resp.Header.Values("Access-Control-Expose-Headers")
		require.Len(t, expose, 1, target)
		for _, h := range []string{"Swarm-Tag", "ETag", "Content-Disposition", "Swarm-Feed-Index", "Swarm-Feed-Index-Next", "Swarm-Act-History-Address"} {
			require.Contains(t, expose[0], h, target)
		}
		if target == "/" {
			require.Equal(t, "Ethereum Swarm Bee\n", body)
		}
	}
	// Without Origin the simulator (like Bee) sends no CORS header; the gateway's `*` is
	// there anyway, so every client of a coalesced flight gets the same answer.
	resp, _ := corsRequest(t, http.MethodGet, gw.URL+"/bytes/"+ref, "")
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
}

// When Bee is down, Caddy's own 502 carries the CORS headers too, so the page can read it.
func TestCORSOnProxyErrors(t *testing.T) {
	gw := startGateway(t, "http://{addr} {\n\tbee http://"+freeAddr(t)+"\n}")
	resp, _ := corsRequest(t, http.MethodGet, gw.URL+"/bytes/"+testRef, appOrigin)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Equal(t, []string{"*"}, resp.Header.Values("Access-Control-Allow-Origin"))
}

func TestCORSListedOrigins(t *testing.T) {
	sim := startCORSSimulator(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+" {\n\t\tcors "+appOrigin+" https://other.example\n\t}\n}")
	ref := sim.AddContent([]byte("listed"))

	resp, _ := corsRequest(t, http.MethodGet, gw.URL+"/bytes/"+ref, appOrigin)
	require.Equal(t, []string{appOrigin}, resp.Header.Values("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Values("Vary"), "Origin")
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))

	resp, body := corsRequest(t, http.MethodGet, gw.URL+"/bytes/"+ref, "http://evil.example")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "listed", body, "the content is public: only the browser is told not to share it")
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "Bee's echo of the refused origin must be removed")
	require.Contains(t, resp.Header.Values("Vary"), "Origin")

	resp, _ = corsRequest(t, http.MethodOptions, gw.URL+"/bytes", "http://evil.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	// WebSockets have no preflight: the gateway checks their origin itself.
	resp, _ = corsRequest(t, http.MethodGet, gw.URL+"/chunks/stream", "http://evil.example",
		"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// `cors off` leaves CORS to Bee: preflights and Bee's own headers pass untouched.
func TestCORSOffLeavesItToBee(t *testing.T) {
	sim := startCORSSimulator(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+" {\n\t\tcors off\n\t}\n}")
	resp, _ := corsRequest(t, http.MethodOptions, gw.URL+"/bytes", appOrigin, "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, appOrigin, resp.Header.Get("Access-Control-Allow-Origin"), "Bee's answer")
	require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"), "Bee's answer, untouched")
	resp, _ = corsRequest(t, http.MethodGet, gw.URL+"/", appOrigin)
	require.Equal(t, []string{appOrigin}, resp.Header.Values("Access-Control-Allow-Origin"))
}

// The plugin's API answers no CORS request unless `cors { api ... }` lists origins.
func TestCORSOnThePluginAPI(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	resp, _ := corsRequest(t, http.MethodGet, gw.URL+"/api/v1/coalescer", appOrigin)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	resp, _ = corsRequest(t, http.MethodOptions, gw.URL+"/api/v1/pool/acquire", appOrigin, "Access-Control-Request-Method", "POST")
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestCORSOnThePluginAPIWhenConfigured(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+" {\n\t\tcors {\n\t\t\tapi https://admin.example\n\t\t}\n\t}\n}")
	resp, _ := corsRequest(t, http.MethodOptions, gw.URL+"/api/v1/pool/acquire", "https://admin.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "https://admin.example", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	resp, _ = corsRequest(t, http.MethodGet, gw.URL+"/api/v1/coalescer", appOrigin)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	// Bee's routes keep the default.
	resp, _ = corsRequest(t, http.MethodGet, gw.URL+"/bytes/"+testRef, appOrigin)
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
}
