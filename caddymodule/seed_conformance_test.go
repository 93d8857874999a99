package caddymodule

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tests in the style of the two seed documents: swarm_connect's stamp-pool change (a
// disabled pool answers 503) and the request-coalescer story (/health/coalescer).

func getJSON(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v), "%s", raw)
	return resp, v
}

// swarm_connect: with no pool configured, the pool endpoints answer 503 with a detail saying
// how to enable the pool; status still answers 200 with enabled:false; unknown endpoints stay
// 404.
func TestDisabledPoolAnswers503(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+" {\n\t\tadmin_token "+adminToken+"\n\t}\n}")
	auth := map[string]string{"Authorization": "Bearer " + adminToken, "Content-Type": "application/json"}

	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/pool/acquire"},
		{http.MethodGet, "/api/v1/pool/available"},
		{http.MethodPost, "/api/v1/pool/check"},
	} {
		for _, headers := range []map[string]string{nil, auth} {
			req, err := http.NewRequest(c.method, gw.URL+c.path, strings.NewReader(`{}`))
			require.NoError(t, err)
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s %s: %s", c.method, c.path, raw)
			var body struct {
				Detail string `json:"detail"`
			}
			require.NoError(t, json.Unmarshal(raw, &body), "%s", raw)
			require.Contains(t, body.Detail, "pool block", "the detail says how to enable the pool")
		}
	}

	resp, status := getJSON(t, gw.URL+"/api/v1/pool/status")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, false, status["enabled"])

	resp, _ = getJSON(t, gw.URL+"/api/v1/pool/nothing-here")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "unknown endpoints stay 404")
	require.Zero(t, sim.Stats().Purchases)
}

// The story: the endpoint exists and returns a valid structure, with every field it names.
func TestHealthCoalescerEndpointExistsAndReturnsAValidStructure(t *testing.T) {
	up := newSlowUpstream(t, 0, []byte("x"), 0)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	for range 3 {
		resp, err := http.Get(gw.URL + "/bytes/" + testRef)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, h := getJSON(t, gw.URL+"/health/coalescer")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	for _, k := range []string{"total_requests", "coalesced_requests", "api_calls_made", "hit_rate_percent",
		"avg_wait_time_ms", "max_concurrent_waiters", "pending_keys", "status"} {
		require.Contains(t, h, k)
	}
	require.EqualValues(t, 3, h["total_requests"])
	require.EqualValues(t, 3, h["api_calls_made"], "three sequential requests: three upstream calls")

	// The same data as <api_prefix>/coalescer under the old names.
	_, stats := getJSON(t, gw.URL+"/api/v1/coalescer")
	require.Equal(t, stats["upstream_requests"], h["api_calls_made"])
	require.Equal(t, stats["avg_wait_ms"], h["avg_wait_time_ms"])

	// Any spelling the route policy would clean to it reaches the same endpoint, and only
	// reads are allowed.
	resp, _ = getJSON(t, gw.URL+"//health/./coalescer")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/health/coalescer", nil)
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, r2.StatusCode)
	require.Equal(t, "GET, HEAD", r2.Header.Get("Allow"))
}

// The story: status is one of healthy/warning/degraded.
func TestHealthCoalescerStatusIsHealthyWarningOrDegraded(t *testing.T) {
	up := newSlowUpstream(t, 0, []byte("x"), 0)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")
	_, h := getJSON(t, gw.URL+"/health/coalescer")
	require.Contains(t, []any{"healthy", "warning", "degraded"}, h["status"])
}

// With coalescing off the endpoint still answers, with status "disabled".
func TestHealthCoalescerSaysDisabledWhenOff(t *testing.T) {
	up := newSlowUpstream(t, 0, []byte("x"), 0)
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+" {\n\t\tcoalesce off\n\t}\n}")
	resp, h := getJSON(t, gw.URL+"/health/coalescer")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "disabled", h["status"])
	require.EqualValues(t, 0, h["total_requests"])
}
