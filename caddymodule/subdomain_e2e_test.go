package caddymodule

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// uploadSite stores a website (a tar collection with an index document) directly on the
// simulator and returns its reference.
func uploadSite(t *testing.T, sim *simulator, files map[string]string) string {
	t.Helper()
	batch := sim.CreateBatch(17, big.NewInt(1_000_000_000), "site", true, true)
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for name, content := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	resp, body := post(t, sim.URL+"/bzz", tarball.Bytes(), map[string]string{
		"Swarm-Postage-Batch-Id": batch, "Swarm-Collection": "true", "Content-Type": "application/x-tar",
		"Swarm-Index-Document": "index.html",
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	var up uploadResult
	require.NoError(t, json.Unmarshal(body, &up))
	return up.Reference
}

// tlsClient trusts Caddy's internal CA in storage and sends every connection to addr,
// whatever the host: *.bzz.localhost resolves to loopback without touching /etc/hosts.
func tlsClient(t *testing.T, storage, addr string) *http.Client {
	t.Helper()
	var root []byte
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if root, err = os.ReadFile(filepath.Join(storage, "pki", "authorities", "local", "root.crt")); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(root), "Caddy's internal root certificate")
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// One Caddyfile serves every Swarm site on its own HTTPS origin, with certificates issued on
// demand (Caddy's internal CA) only for real Swarm CIDs under the base domain.
func TestSubdomainGatewayWithOnDemandTLS(t *testing.T) {
	sim := startSimulator(t)
	files := map[string]string{
		"index.html":     "<h1>a site on its own origin</h1>",
		"style/main.css": "body { color: #123; }",
	}
	ref := uploadSite(t, sim, files)

	tlsAddr := freeAddr(t)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	globals := "\tauto_https disable_redirects\n\tskip_install_trust\n" +
		"\ton_demand_tls {\n\t\tpermission bee bzz.localhost\n\t}"
	site := "http://{addr} {\n\tbee " + sim.URL + " {\n\t\tsubdomains bzz.localhost\n\t}\n}\n\n" +
		"https://:" + tlsPort + " {\n\tbind 127.0.0.1\n\ttls internal {\n\t\ton_demand\n\t}\n" +
		"\tbee " + sim.URL + " {\n\t\tsubdomains bzz.localhost\n\t}\n}\n"
	gw := startGatewayWithGlobals(t, globals, site)
	waitListening(t, tlsAddr)

	// The helper endpoint gives the site's host.
	resp, err := http.Get(gw.URL + "/api/v1/subdomain/" + ref)
	require.NoError(t, err)
	var helper struct {
		Reference string   `json:"reference"`
		CID       string   `json:"cid"`
		URLs      []string `json:"urls"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&helper))
	resp.Body.Close()
	cid, err := subdomain.CID(ref)
	require.NoError(t, err)
	require.Equal(t, cid, helper.CID)
	_, gwPort, _ := net.SplitHostPort(gw.Addr)
	require.Equal(t, []string{"http://" + cid + ".bzz.localhost:" + gwPort + "/"}, helper.URLs)

	client := tlsClient(t, gw.Storage, tlsAddr)
	origin := "https://" + cid + ".bzz.localhost:" + tlsPort
	get := func(url string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(url)
		require.NoError(t, err, url)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	// The index document, a nested file and a 404 behave as on /bzz.
	resp, body := get(origin + "/")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, files["index.html"], body)
	require.Equal(t, cid+".bzz.localhost", resp.TLS.PeerCertificates[0].DNSNames[0], "a certificate for the site's own host")
	resp, body = get(origin + "/style/main.css")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, files["style/main.css"], body)
	resp, _ = get(origin + "/missing.html")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A junk label and a foreign domain get no certificate.
	for _, host := range []string{"junk.bzz.localhost", "example.com", "bzz.localhost"} {
		_, err := client.Get("https://" + host + ":" + tlsPort + "/")
		require.Error(t, err, host)
		require.Contains(t, err.Error(), "tls", host)
	}

	// Only GET and HEAD on a site's origin: an upload is refused before Bee.
	uploadsBefore := sim.Stats().Uploads
	req, _ := http.NewRequest(http.MethodPost, origin+"/bytes", strings.NewReader("hello"))
	req.Header.Set("Swarm-Postage-Batch-Id", strings.Repeat("0", 64))
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	require.Equal(t, uploadsBefore, sim.Stats().Uploads)

	// The plugin's API is not on a site's origin either: the path is the site's.
	resp, _ = get(origin + "/api/v1/pool/status")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// Bee's directory redirects (`/bzz/<ref>/dir` -> `/bzz/<ref>/dir/`) stay on the site's
// origin, and a junk label under the base is a 404, not a proxied request.
func TestSubdomainRedirectsStayOnTheSite(t *testing.T) {
	ref := strings.Repeat("ab", 32)
	cid, err := subdomain.CID(ref)
	require.NoError(t, err)
	var mu sync.Mutex
	var seen []string
	bee := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/bzz/"+ref+"/docs" {
			u := *r.URL // as Bee does: the request's path and query, plus "/"
			u.Path += "/"
			http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
			return
		}
		_, _ = w.Write([]byte("page " + r.URL.Path))
	}))
	t.Cleanup(bee.Close)
	gw := startGateway(t, "http://:{port} {\n\tbind 127.0.0.1\n\tbee "+bee.URL+" {\n\t\tsubdomains bzz.localhost\n\t\tcoalesce off\n\t}\n}")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/docs?x=1", nil)
	req.Host = cid + ".bzz.localhost"
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode, "%s", body)
	require.Equal(t, "/docs/?x=1", resp.Header.Get("Location"))

	req, _ = http.NewRequest(http.MethodGet, gw.URL+"/a/../b//c", nil)
	req.Host = cid + ".bzz.localhost"
	resp, err = noRedirect.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "page /bzz/"+ref+"/b/c", string(body), "the cleaned path under the site's root")

	// A site's content is public: other origins may read it (default cors *), and a
	// preflight is answered for GET and HEAD only.
	req, _ = http.NewRequest(http.MethodGet, gw.URL+"/b/c", nil)
	req.Host = cid + ".bzz.localhost"
	req.Header.Set("Origin", "https://dapp.example")
	resp, err = noRedirect.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, []string{"*"}, resp.Header.Values("Access-Control-Allow-Origin"))
	req, _ = http.NewRequest(http.MethodOptions, gw.URL+"/b/c", nil)
	req.Host = cid + ".bzz.localhost"
	req.Header.Set("Origin", "https://dapp.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err = noRedirect.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.NotContains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")

	req, _ = http.NewRequest(http.MethodGet, gw.URL+"/", nil)
	req.Host = "junk.bzz.localhost"
	resp, err = noRedirect.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, string(body), "not a Swarm CID")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"/bzz/" + ref + "/docs", "/bzz/" + ref + "/b/c", "/bzz/" + ref + "/b/c"}, seen, "the junk label never reached Bee")
}
