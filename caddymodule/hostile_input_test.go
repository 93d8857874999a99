package caddymodule

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// Under `routes gateway` no spending or identity route of Bee is reachable, whatever the
// method or spelling: every attempt is refused by the gateway and nothing reaches Bee.
func TestNoAdminRouteReachableAnySpellingOrMethod(t *testing.T) {
	up := newRecordingUpstream(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	n := 0
	for _, route := range testkit.AdminRoutes {
		for _, target := range testkit.WireSpellings(route.Path) {
			for _, m := range methods {
				status := rawStatus(t, gw.Addr, m, target)
				require.Contains(t, []int{http.StatusForbidden, http.StatusBadRequest}, status, "%s %s", m, target)
				n++
			}
		}
	}
	// A content path's other methods are refused too (DELETE of a chunk, though GET of the
	// same path is content).
	for _, route := range testkit.RefusedContentMethods {
		for _, target := range testkit.WireSpellings(route.Path) {
			require.Contains(t, []int{http.StatusForbidden, http.StatusBadRequest}, rawStatus(t, gw.Addr, route.Method, target), "%s %s", route.Method, target)
			n++
		}
	}
	require.Empty(t, up.requests(), "a refused request reached Bee")
	t.Logf("%d refused requests (%d routes x %d spellings x %d methods, plus %d content paths' refused methods)", n,
		len(testkit.AdminRoutes), len(testkit.WireSpellings("/x")), len(methods), len(testkit.RefusedContentMethods))
}

// rawStatus sends one request verbatim on its own connection and returns the status.
func rawStatus(t *testing.T, addr, method, target string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
	_, err = conn.Write([]byte(req))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	require.NoError(t, err, "%s %s", method, target)
	resp.Body.Close()
	return resp.StatusCode
}

// A client that trickles a pool API body is cut off with 408 instead of holding a
// connection and a handler forever; an oversized body is refused with 413 without being
// read whole.
func TestPoolAPIRefusesSlowAndOversizedBodies(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, adminToken, "reserve small 1"))

	conn, err := net.DialTimeout("tcp", gw.Addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	_, err = fmt.Fprintf(conn, "POST /api/v1/pool/acquire HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"si", gw.Addr, adminToken)
	require.NoError(t, err)
	began := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "within")
	require.Less(t, time.Since(began), 20*time.Second)

	// 64 MiB announced and streamed: refused with 413 after the first 4 KiB.
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for i := 0; i < 1024; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, gw.URL+"/api/v1/pool/acquire", pr)
	require.NoError(t, err)
	req.ContentLength = 64 << 20
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err = http.DefaultClient.Do(req)
	pr.CloseWithError(io.ErrClosedPipe)
	if err == nil { // the server may also close before the client finishes writing
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
	}
}

// The admin token (and a wrong guess) never reaches a log line or a response body, even with
// debug logs and access logs on.
func TestAdminTokenNeverLoggedOrEchoed(t *testing.T) {
	sim := startSimulator(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	const token = "s3cret-admin-token-never-logged"
	const guess = "wrong-guess-also-never-logged"
	site := strings.Replace(poolSite(sim.URL, token, "reserve small 2"), "http://{addr} {", "http://{addr} {\n\tlog", 1)
	gw := startGatewayWithGlobals(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tlevel DEBUG\n\t}", logFile), site)
	waitPoolReserve(t, gw, token, 17, 2, 60*time.Second)

	var bodies []string
	for _, c := range []struct{ method, path, auth, body string }{
		{"POST", "/api/v1/pool/acquire", "Bearer " + token, `{"size":"small"}`},
		{"POST", "/api/v1/pool/acquire", "Bearer " + guess, `{"size":"small"}`},
		{"POST", "/api/v1/pool/acquire", token, `{}`},
		{"GET", "/api/v1/pool/status", "Bearer " + token, ""},
		{"GET", "/api/v1/pool/available", "Bearer " + guess, ""},
		{"POST", "/api/v1/pool/check", "Bearer " + token, ""},
		{"POST", "/bytes", "Bearer " + token, "hello"},
		{"GET", "/stamps", "Bearer " + token, ""},
	} {
		req, err := http.NewRequest(c.method, gw.URL+c.path, strings.NewReader(c.body))
		require.NoError(t, err)
		req.Header.Set("Authorization", c.auth)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, string(b))
		for _, vs := range resp.Header {
			for _, v := range vs {
				require.NotContains(t, v, token)
			}
		}
	}
	for _, b := range bodies {
		require.NotContains(t, b, token)
		require.NotContains(t, b, guess)
	}
	require.Eventually(t, func() bool {
		raw, _ := os.ReadFile(logFile)
		return strings.Contains(string(raw), "batch issued") && strings.Contains(string(raw), "/api/v1/pool/check")
	}, 10*time.Second, 50*time.Millisecond, "the debug and access logs were written")
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.NotContains(t, string(raw), token)
	require.NotContains(t, string(raw), guess)
}
