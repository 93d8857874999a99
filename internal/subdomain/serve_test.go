package subdomain

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServeRewritesToTheSiteAndMapsRedirectsBack(t *testing.T) {
	site := Site{Root: "/bzz/" + beeRef, Immutable: true}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/a/../dir", nil)
	w, done, err := Serve(rec, r, site, nil)
	require.NoError(t, err)
	require.False(t, done)
	require.Equal(t, site.Root+"/dir", r.URL.Path, "the cleaned path under the site's root")
	w.Header().Set("Location", site.Root+"/dir/")
	w.WriteHeader(http.StatusMovedPermanently)
	require.Equal(t, http.StatusMovedPermanently, rec.Code)
	require.Equal(t, "/dir/", rec.Header().Get("Location"), "Bee's redirect in the site's own paths")
}

func TestServeRefusesWhatASiteOriginDoesNotServe(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "junk.bzz.example.com:8443"
	_, done, err := Serve(w, r, Site{}, errors.New("not a Swarm CID"))
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, http.StatusNotFound, w.Code)
	require.JSONEq(t, `{"code":404,"message":"no Swarm site at junk.bzz.example.com: not a Swarm CID"}`, w.Body.String())

	w = httptest.NewRecorder()
	_, done, err = Serve(w, httptest.NewRequest(http.MethodPost, "/", nil), Site{Root: "/bzz/x"}, nil)
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
}

func TestURLsFollowTheRequestsSchemeAndPort(t *testing.T) {
	h, err := NewHosts([]string{"bzz.example.com", "bzz.localhost"}, false)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "gw.example.com:8443"
	r.TLS = &tls.ConnectionState{}
	cid, urls, err := h.URLs(r, beeRef)
	require.NoError(t, err)
	require.Equal(t, beeManifestCID, cid)
	require.Equal(t, []string{"https://" + cid + ".bzz.example.com:8443/", "https://" + cid + ".bzz.localhost:8443/"}, urls)

	_, _, err = h.URLs(r, "xyz")
	require.Error(t, err)
}
