package caddymodule

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

type cacheStatsBody struct {
	Enabled bool  `json:"enabled"`
	Hits    int64 `json:"hits"`
	Misses  int64 `json:"misses"`
	Saved   int64 `json:"bee_bytes_saved"`
	Memory  struct {
		Entries  int   `json:"entries"`
		Bytes    int64 `json:"bytes"`
		MaxBytes int64 `json:"max_bytes"`
	} `json:"memory"`
	Admitted int64 `json:"admitted"`
	Refused  int64 `json:"refused_unverified"`
}

func getCacheStats(t testing.TB, gw *gateway) cacheStatsBody {
	t.Helper()
	resp, err := http.Get(gw.URL + "/api/v1/cache")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var s cacheStatsBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

// waitAdmitted waits until the cache has dealt with n offered answers (admission verifies
// the bytes off the request path).
func waitAdmitted(t testing.TB, gw *gateway, n int64) cacheStatsBody {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := getCacheStats(t, gw)
		if s.Admitted+s.Refused >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("cache admitted %d, refused %d; want %d offered", s.Admitted, s.Refused, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fetch(t testing.TB, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// A repeat, conditional, range or HEAD download of cached content never reaches Bee; a purge
// (admin token) sends the next one to Bee again.
func TestContentCacheServesWithoutBee(t *testing.T) {
	sim := startSimulator(t)
	data := randomBytes(300_000)
	ref := sim.AddContent(data)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+" {\n\t\tadmin_token sekret\n\t}\n}")

	// The first download is not kept (most references are asked for once); the second is.
	for i := range 2 {
		resp, body := fetch(t, "GET", gw.URL+"/bytes/"+ref)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, data, body)
		require.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
		require.Equal(t, `"`+ref+`"`, resp.Header.Get("ETag"))
		if i == 0 {
			s := getCacheStats(t, gw)
			require.Zero(t, s.Admitted+s.Refused, "a first download was recorded")
		}
	}
	require.EqualValues(t, 1, waitAdmitted(t, gw, 1).Admitted)
	etag := `"` + ref + `"`

	sim.ResetStats()
	hitsBefore := metricValue(t, "caddy_bee_cache_requests_total", "result", "hit_memory")
	savedBefore := metricValue(t, "caddy_bee_cache_bee_bytes_saved_total", "tier", "memory")
	resp, body := fetch(t, "GET", gw.URL+"/bytes/"+ref)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, data, body)
	require.Equal(t, etag, resp.Header.Get("ETag"))
	require.Equal(t, hitsBefore+1, metricValue(t, "caddy_bee_cache_requests_total", "result", "hit_memory"))
	require.Equal(t, savedBefore+float64(len(data)), metricValue(t, "caddy_bee_cache_bee_bytes_saved_total", "tier", "memory"))
	require.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))

	resp, body = fetch(t, "GET", gw.URL+"/v1/bytes/"+ref, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Empty(t, body)

	resp, body = fetch(t, "GET", gw.URL+"/bytes/"+ref, "Range", "bytes=1000-1999")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, data[1000:2000], body)

	resp, body = fetch(t, "HEAD", gw.URL+"/bytes/"+ref)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, body)
	require.EqualValues(t, len(data), resp.ContentLength)

	require.Zero(t, sim.Stats().Downloads, "cached downloads reached Bee")
	s := getCacheStats(t, gw)
	require.EqualValues(t, 4, s.Hits)
	require.EqualValues(t, len(data)+1000, s.Saved)

	// Purge: token required, then every entry of the reference goes.
	req, _ := http.NewRequest(http.MethodDelete, gw.URL+"/api/v1/cache/"+ref, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req.Header.Set("Authorization", "Bearer sekret")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var purged struct{ Removed int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&purged))
	resp.Body.Close()
	require.Equal(t, 1, purged.Removed)

	_, body = fetch(t, "GET", gw.URL+"/bytes/"+ref)
	require.Equal(t, data, body)
	require.EqualValues(t, 1, sim.Stats().Downloads, "after a purge the content comes from Bee again")
}

// A download Bee cuts mid-body never becomes an entry: the next request goes to Bee.
func TestContentCacheRefusesCutDownloads(t *testing.T) {
	sim := startSimulator(t)
	data := randomBytes(200_000)
	ref := sim.AddContent(data)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+"\n}")
	sim.SetFaults(beesim.Faults{CutAfter: 50_000})
	resp, err := http.Get(gw.URL + "/bytes/" + ref)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Error(t, err, "a cut body reaches the client as a broken connection")
	sim.ClearFaults()
	sim.ResetStats()
	_, body := fetch(t, "GET", gw.URL+"/bytes/"+ref)
	require.Equal(t, data, body)
	require.EqualValues(t, 1, sim.Stats().Downloads, "the cut answer was cached")
	require.Zero(t, getCacheStats(t, gw).Refused)
}

// The memory tier stays within its bound.
func TestContentCacheBound(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+" {\n\t\tcache {\n\t\t\tmemory 1MiB\n\t\t}\n\t}\n}")
	for i := range 12 {
		data := randomBytes(200_000)
		ref := sim.AddContent(data)
		for range 2 { // the second download is recorded
			_, body := fetch(t, "GET", gw.URL+"/bytes/"+ref)
			require.True(t, bytes.Equal(data, body))
		}
		s := waitAdmitted(t, gw, int64(i+1))
		require.LessOrEqual(t, s.Memory.Bytes, int64(1<<20))
		require.EqualValues(t, 1<<20, s.Memory.MaxBytes)
	}
}

// `cache off` keeps the immutable headers and sends every request to Bee.
func TestContentCacheOff(t *testing.T) {
	sim := startSimulator(t)
	off := startGateway(t, "http://{addr} {\n\tbee "+sim.URL+" {\n\t\tcache off\n\t}\n}")
	data := randomBytes(10_000)
	ref := sim.AddContent(data)
	sim.ResetStats()
	for range 2 {
		resp, body := fetch(t, "GET", off.URL+"/bytes/"+ref)
		require.Equal(t, data, body)
		require.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
	}
	require.EqualValues(t, 2, sim.Stats().Downloads)
	require.False(t, getCacheStats(t, off).Enabled)
}

// The disk tier survives a config reload (the same cache, its entries kept, new bounds
// applied) and a restart (its index rebuilt from the directory): neither sends a cached
// download to Bee.
func TestContentCacheDiskSurvivesReloadAndRestart(t *testing.T) {
	sim := startSimulator(t)
	dir := t.TempDir()
	site := func(memory string) string {
		return "http://{addr} {\n\tbee " + sim.URL + " {\n\t\tcache {\n\t\t\tmemory " + memory +
			"\n\t\t\tdisk 8MiB\n\t\t\tdir " + dir + "\n\t\t}\n\t}\n}"
	}
	data := randomBytes(500_000)
	ref := sim.AddContent(data)
	t.Run("reload", func(t *testing.T) {
		gw := startGateway(t, site("1MiB"))
		for range 2 { // the second download is recorded
			_, body := fetch(t, "GET", gw.URL+"/bytes/"+ref)
			require.Equal(t, data, body)
		}
		waitAdmitted(t, gw, 1)

		reload := func(s string) {
			caddyfile := "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n\tstorage file_system " + gw.Storage +
				"\n}\n\n" + strings.ReplaceAll(s, "{addr}", gw.Addr) + "\n"
			cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
			require.NoError(t, err)
			require.NoError(t, caddy.Load(cfg, true))
		}
		reload(site("2MiB"))
		sim.ResetStats()
		_, body := fetch(t, "GET", gw.URL+"/bytes/"+ref)
		require.Equal(t, data, body)
		require.Zero(t, sim.Stats().Downloads, "a reload lost the cache")
		s := getCacheStats(t, gw)
		require.EqualValues(t, 2<<20, s.Memory.MaxBytes, "the reload's bound applies")
		require.EqualValues(t, 1, s.Hits, "the kept cache keeps its counters")
	})
	// A fresh process: only the directory is left (the cache is dropped with its last config).
	require.Zero(t, countLiveCaches())
	t.Run("restart", func(t *testing.T) { restartServesFromDisk(t, site("1MiB"), sim, ref, data) })
}

func restartServesFromDisk(t *testing.T, site string, sim *simulator, ref string, data []byte) {
	gw := startGateway(t, site)
	sim.ResetStats()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := fetch(t, "GET", gw.URL+"/bytes/"+ref)
		require.Equal(t, data, body)
		require.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
		if sim.Stats().Downloads == 0 {
			break // served from the rebuilt disk tier
		}
		require.True(t, time.Now().Before(deadline), "the disk tier was not rebuilt")
		sim.ResetStats()
		time.Sleep(10 * time.Millisecond)
	}
}

func countLiveCaches() int {
	n := 0
	liveCaches.Range(func(any, any) bool { n++; return true })
	return n
}
