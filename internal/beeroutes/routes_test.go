package beeroutes

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/inject"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

type handlerFunc func(http.ResponseWriter, *http.Request) error

func (f handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) error { return f(w, r) }

// toBee records the path each request reached "Bee" with.
func toBee(paths *[]string) Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		*paths = append(*paths, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
		return nil
	})
}

func serve(t *testing.T, g *Routes, method, path string, next Handler) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	require.NoError(t, g.Serve(w, httptest.NewRequest(method, path, nil), next))
	return w
}

func TestPolicyRefusesInBeesShapeAndForwardsTheCheckedPath(t *testing.T) {
	g := &Routes{Mode: routepolicy.Gateway, Logger: zap.NewNop()}
	var paths []string
	w := serve(t, g, http.MethodPost, "/stamps/10000/17", toBee(&paths))
	require.Equal(t, http.StatusForbidden, w.Code)
	require.JSONEq(t, `{"code":403,"message":"Forbidden: this gateway does not expose POST /stamps/10000/17 (route policy: gateway)"}`, w.Body.String())
	require.Empty(t, paths)

	w = serve(t, g, http.MethodGet, "/bytes/../health", toBee(&paths))
	require.Equal(t, http.StatusTeapot, w.Code)
	require.Equal(t, []string{"/health"}, paths, "the path that was checked is the one forwarded")
}

// /gateway and /readiness are the gateway's own answers only when it injects batches.
func TestGatewayAndReadinessAnswersWhenInjecting(t *testing.T) {
	var paths []string
	plain := &Routes{Mode: routepolicy.Gateway, Logger: zap.NewNop()}
	require.Equal(t, http.StatusTeapot, serve(t, plain, http.MethodGet, "/gateway", toBee(&paths)).Code)
	require.Equal(t, http.StatusTeapot, serve(t, plain, http.MethodGet, "/readiness", toBee(&paths)).Code)

	ready := false
	g := &Routes{Mode: routepolicy.Gateway, Logger: zap.NewNop(), Injector: &inject.Injector{},
		Ready: func() bool { return ready }, RetryAfter: func() time.Duration { return 90 * time.Second }}
	w := serve(t, g, http.MethodGet, "/gateway", toBee(&paths))
	require.Equal(t, http.StatusOK, w.Code)
	require.JSONEq(t, `{"gateway":true}`, w.Body.String())

	w = serve(t, g, http.MethodGet, "/readiness", toBee(&paths))
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Equal(t, "90", w.Header().Get("Retry-After"))
	require.Contains(t, w.Body.String(), `"status":"notReady"`)

	ready = true
	require.Equal(t, http.StatusTeapot, serve(t, g, http.MethodGet, "/readiness", toBee(&paths)).Code, "ready: Bee answers")
	require.Equal(t, []string{"/gateway", "/readiness", "/readiness"}, paths)
}

// With several nodes an upload that carries its own batch is offered for pinning; downloads
// are not.
func TestClientBatchUploadsArePinned(t *testing.T) {
	var pinned []string
	var paths []string
	g := &Routes{Mode: routepolicy.All, Logger: zap.NewNop(), PinClientBatch: func(r *http.Request) { pinned = append(pinned, r.URL.Path) }}
	r := httptest.NewRequest(http.MethodPost, "/bytes", nil)
	r.Header.Set(inject.BatchHeader, "ab")
	require.NoError(t, g.Serve(httptest.NewRecorder(), r, toBee(&paths)))
	serve(t, g, http.MethodGet, "/bytes/ab", toBee(&paths))
	require.Equal(t, []string{"/bytes"}, pinned)
}

// Downloads (GET, HEAD) get large writes; uploads and refused routes keep the server's.
func TestLargeWritesForDownloadsOnly(t *testing.T) {
	var asked []string
	g := &Routes{Mode: routepolicy.Gateway, Logger: zap.NewNop(),
		LargeWrites: func(r *http.Request) { asked = append(asked, r.Method+" "+r.URL.Path) }}
	var paths []string
	serve(t, g, http.MethodGet, "/bytes/"+testRef, toBee(&paths))
	serve(t, g, http.MethodHead, "/bzz/"+testRef+"/", toBee(&paths))
	serve(t, g, http.MethodPost, "/bytes", toBee(&paths))
	serve(t, g, http.MethodPost, "/stamps/10000/17", toBee(&paths))
	require.Equal(t, []string{"GET /bytes/" + testRef, "HEAD /bzz/" + testRef + "/"}, asked)
}

const testRef = "0f3a4c1e9b8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f"
