package cors

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

func getPost() []string { return []string{http.MethodGet, http.MethodPost} }

func TestPoliciesDefaultsAndConflicts(t *testing.T) {
	bee, api, err := (*Config)(nil).Policies()
	require.NoError(t, err)
	require.True(t, bee.AnyOrigin(), "Bee's routes: * by default")
	require.Nil(t, api, "the API: no CORS by default")

	bee, api, err = (&Config{Disabled: true, APIOrigins: []string{"https://admin.example"}}).Policies()
	require.NoError(t, err)
	require.Nil(t, bee, "cors off leaves Bee's routes to Bee")
	require.NotNil(t, api)

	_, _, err = (&Config{Disabled: true, Origins: []string{"https://app.example"}}).Policies()
	require.ErrorContains(t, err, "choose one")
	_, _, err = (&Config{APIOrigins: []string{"not an origin"}}).Policies()
	require.ErrorContains(t, err, "cors api")
}

func TestWrapAnswersPreflights(t *testing.T) {
	p, err := New([]string{"https://app.example"}, BeeRequestHeaders, BeeResponseHeaders)
	require.NoError(t, err)
	preflight := func(origin, method string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodOptions, "/bytes", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		w := httptest.NewRecorder()
		_, done, err := p.Wrap(w, r, getPost, routepolicy.Gateway)
		require.NoError(t, err)
		require.True(t, done, "a preflight is answered by the gateway")
		return w
	}
	w := preflight("https://app.example", "post")
	require.Equal(t, http.StatusNoContent, w.Code)
	require.Equal(t, "https://app.example", w.Header().Get("Access-Control-Allow-Origin"))

	w = preflight("https://app.example", http.MethodDelete)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Contains(t, w.Body.String(), "does not expose DELETE /bytes (route policy: gateway)")

	w = preflight("https://evil.example", http.MethodGet)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Contains(t, w.Body.String(), "origin https://evil.example is not allowed")
}

func TestWrapChecksWebSocketOrigins(t *testing.T) {
	p, err := New([]string{"https://app.example"}, BeeRequestHeaders, BeeResponseHeaders)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "/chunks/stream", nil)
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Upgrade", "websocket")
	w := httptest.NewRecorder()
	_, done, err := p.Wrap(w, r, getPost, routepolicy.Gateway)
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, http.StatusForbidden, w.Code)
}

// The answer's CORS headers replace the upstream's, also on an error the server answers
// after next.
func TestWriterReplacesHeadersAndCoversErrors(t *testing.T) {
	p, err := New([]string{"*"}, BeeRequestHeaders, BeeResponseHeaders)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "/bytes/ab", nil)
	r.Header.Set("Origin", "https://app.example")

	rec := httptest.NewRecorder()
	w, done, err := p.Wrap(rec, r, getPost, routepolicy.Gateway)
	require.NoError(t, err)
	require.False(t, done)
	w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
	w.Header().Set("Access-Control-Allow-Credentials", "true")
	w.WriteHeader(http.StatusOK)
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"))

	rec = httptest.NewRecorder()
	w, _, err = p.Wrap(rec, r, getPost, routepolicy.Gateway)
	require.NoError(t, err)
	require.NoError(t, OnError(w, nil))
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "no error: nothing set yet")
	down := errors.New("bee is down")
	require.ErrorIs(t, OnError(w, down), down)
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"), "set for the server's error answer")

	plain := httptest.NewRecorder()
	require.ErrorIs(t, OnError(plain, down), down, "without a Writer: the error as it is")
	require.Empty(t, plain.Header())
}
