package caddymodule

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// TestMain keeps Caddy away from the real $HOME: storage, autosave and certificates all go
// to a temporary directory that is removed afterwards.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "caddy-bee-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, v := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"} {
		sub := filepath.Join(dir, strings.ToLower(v))
		_ = os.MkdirAll(sub, 0o700)
		os.Setenv(v, sub)
	}
	code := m.Run()
	_ = caddy.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatewayMu serialises tests that load a Caddy config: Caddy runs one config per process.
var gatewayMu sync.Mutex

// gateway is a real Caddy server running in this process.
type gateway struct {
	URL     string
	Addr    string
	Storage string
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	port, err := testkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// startGateway runs site (a Caddyfile site body; "{addr}" is replaced by the listen address,
// "{port}" by its port, for sites that must answer any host)
// under Caddy, with admin off and storage in a temp dir. It stops at the end of the test.
func startGateway(t testing.TB, site string) *gateway {
	t.Helper()
	return startGatewayWithGlobals(t, "", site)
}

// startGatewayWithGlobals is startGateway with more global options (e.g. a log).
func startGatewayWithGlobals(t testing.TB, globals, site string) *gateway {
	t.Helper()
	gatewayMu.Lock()
	g := &gateway{Addr: freeAddr(t), Storage: t.TempDir()}
	g.URL = "http://" + g.Addr
	admin := "\tadmin off\n"
	if strings.Contains(globals, "admin ") {
		admin = ""
	}
	_, port, _ := net.SplitHostPort(g.Addr)
	autoHTTPS := "\tauto_https off\n"
	if strings.Contains(globals, "auto_https ") {
		autoHTTPS = ""
	}
	caddyfile := fmt.Sprintf("{\n%s%s\tpersist_config off\n\tstorage file_system %s\n%s\n}\n\n%s\n",
		admin, autoHTTPS, g.Storage, globals, strings.NewReplacer("{addr}", g.Addr, "{port}", port).Replace(site))
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		gatewayMu.Unlock()
		t.Fatalf("adapt: %v\n%s", err, caddyfile)
	}
	for _, w := range warnings {
		if !strings.Contains(w.Message, "not formatted") {
			t.Logf("adapt warning: %s", w.Message)
		}
	}
	startGatewayJSON(t, g, cfg)
	return g
}

// startGatewayJSON loads a JSON config; the caller holds gatewayMu, released at cleanup.
func startGatewayJSON(t testing.TB, g *gateway, cfg []byte) {
	t.Helper()
	if err := caddy.Load(cfg, true); err != nil {
		gatewayMu.Unlock()
		t.Fatalf("load config: %v", err)
	}
	t.Cleanup(func() {
		defer gatewayMu.Unlock()
		if err := caddy.Stop(); err != nil {
			t.Errorf("stop caddy: %v", err)
		}
	})
	waitListening(t, g.Addr)
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// rawRequest sends one HTTP/1.1 request line and headers verbatim (so paths reach Caddy
// unnormalised) and returns the response.
func rawRequest(t testing.TB, addr, method, target string, headers ...string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		req += "Content-Length: 0\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return resp
}
