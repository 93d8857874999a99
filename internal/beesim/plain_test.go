package beesim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlainRoutes(t *testing.T) {
	_, url := newServer(t, Options{})
	status, h, body := do(t, http.MethodGet, url+"/", nil)
	require.Equal(t, 200, status)
	require.Equal(t, "Ethereum Swarm Bee\n", body)
	require.True(t, strings.HasPrefix(h.Get("Content-Type"), "text/plain"), h.Get("Content-Type"))
	status, _, body = do(t, http.MethodGet, url+"/robots.txt", nil)
	require.Equal(t, 200, status)
	require.Equal(t, "User-agent: *\nDisallow: /\n", body)
	status, _, body = do(t, http.MethodHead, url+"/", nil)
	require.Equal(t, 200, status)
	require.Empty(t, body)
}

func TestOptionsWithoutCORS(t *testing.T) {
	_, url := newServer(t, Options{})
	for path, allow := range map[string]string{"/bytes": "POST", "/v1/bzz/" + strings.Repeat("ab", 32) + "/x": "GET, HEAD",
		"/feeds/aa/bb": "GET, POST", "/chunks/stream": "GET"} {
		status, h, _ := do(t, http.MethodOptions, url+path, nil, "Origin", "http://app.example")
		require.Equal(t, 204, status, path)
		require.Equal(t, allow, h.Get("Allow"), path)
		require.Empty(t, h.Get("Access-Control-Allow-Origin"), "no CORS unless configured")
	}
	status, _, _ := do(t, http.MethodOptions, url+"/nowhere", nil)
	require.Equal(t, 404, status)
}

func TestCORSAllowedOrigins(t *testing.T) {
	_, url := newServer(t, Options{CORSAllowedOrigins: []string{"http://app.example"}})
	status, h, _ := do(t, http.MethodOptions, url+"/bytes", nil,
		"Origin", "http://app.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, 204, status)
	require.Equal(t, "http://app.example", h.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "POST", h.Get("Access-Control-Allow-Methods"))
	require.Contains(t, h.Get("Access-Control-Allow-Headers"), "Swarm-Postage-Batch-Id")
	require.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
	require.Empty(t, h.Get("Allow"))

	status, h, _ = do(t, http.MethodGet, url+"/", nil, "Origin", "http://evil.example")
	require.Equal(t, 200, status)
	require.Empty(t, h.Get("Access-Control-Allow-Origin"))
}

func TestExposeHeadersOnAnswers(t *testing.T) {
	sim, url := newServer(t, Options{})
	ref := sim.AddContent([]byte("hello"))
	status, h, _ := do(t, http.MethodHead, url+"/bytes/"+ref, nil)
	require.Equal(t, 200, status)
	require.Equal(t, "Accept-Ranges, Content-Encoding", h.Get("Access-Control-Expose-Headers"))
	status, h, _ = do(t, http.MethodGet, url+"/bytes/"+strings.Repeat("ab", 32), nil)
	require.Equal(t, 404, status)
	require.Empty(t, h.Get("Access-Control-Expose-Headers"), "errors expose nothing")
}
