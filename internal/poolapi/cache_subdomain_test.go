package poolapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

func TestServeCacheStatsAndPurge(t *testing.T) {
	a := &API{AdminToken: "tok", Logger: zap.NewNop()}
	c, err := cache.New(cache.Options{Memory: 1 << 20, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ref := strings.Repeat("ab", 32)
	do := func(method, endpoint string, c *cache.Cache, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/v1"+endpoint, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		require.NoError(t, a.ServeCache(w, r, c, endpoint))
		return w
	}

	require.JSONEq(t, `{"enabled":false}`, do(http.MethodGet, "/cache", nil, "").Body.String())
	w := do(http.MethodGet, "/cache", c, "")
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"enabled":true`)
	require.Equal(t, http.StatusMethodNotAllowed, do(http.MethodPost, "/cache", c, "").Code)

	require.Equal(t, http.StatusMethodNotAllowed, do(http.MethodGet, "/cache/"+ref, c, "tok").Code)
	require.Equal(t, http.StatusUnauthorized, do(http.MethodDelete, "/cache/"+ref, c, "").Code)
	require.Equal(t, http.StatusBadRequest, do(http.MethodDelete, "/cache/nothex", c, "tok").Code)
	w = do(http.MethodDelete, "/cache/"+ref, c, "tok")
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"removed":0`)
}

func TestServeSubdomainURLs(t *testing.T) {
	ref := strings.Repeat("ab", 32)
	do := func(method string, hosts *subdomain.Hosts, ref string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		require.NoError(t, ServeSubdomainURLs(w, httptest.NewRequest(method, "http://gw:8080/api/v1/subdomain/"+ref, nil), hosts, ref))
		return w
	}
	require.Equal(t, http.StatusNotFound, do(http.MethodGet, nil, ref).Code)
	hosts, err := subdomain.NewHosts([]string{"bzz.example.com"}, false)
	require.NoError(t, err)
	require.Equal(t, http.StatusMethodNotAllowed, do(http.MethodPost, hosts, ref).Code)
	require.Equal(t, http.StatusUnprocessableEntity, do(http.MethodGet, hosts, "xyz").Code)
	w := do(http.MethodGet, hosts, strings.ToUpper(ref))
	require.Equal(t, http.StatusOK, w.Code)
	cid, err := subdomain.CID(ref)
	require.NoError(t, err)
	require.JSONEq(t, `{"reference":"`+ref+`","cid":"`+cid+`","urls":["http://`+cid+`.bzz.example.com:8080/"]}`, w.Body.String())
}
