package caddymodule

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowserEndToEnd drives bee-js's browser bundle in headless Chromium (test/e2e,
// browser.test.mjs) from a page on another origin, through a gateway with a pool in front of
// the simulator. It needs the Debian `chromium` package (or CHROMIUM=<path>) and `npm ci
// --prefix test/e2e` (puppeteer-core, esbuild); `make browser-test` runs it, and `make test`
// runs that. It runs only when CADDY_BEE_BROWSER_TEST=1, so `go test ./...` starts no
// browser; when it is set, a missing dependency is a failure, never a skip.
func TestBrowserEndToEnd(t *testing.T) {
	if os.Getenv("CADDY_BEE_BROWSER_TEST") != "1" {
		t.Skip("browser test: run `make browser-test` (sets CADDY_BEE_BROWSER_TEST=1)")
	}
	dir, err := filepath.Abs("../test/e2e")
	if err != nil {
		t.Fatal(err)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium, _ = exec.LookPath("chromium")
	}
	node, nodeErr := exec.LookPath("node")
	if chromium == "" || nodeErr != nil || !exists(filepath.Join(dir, "node_modules", "puppeteer-core")) || !exists(filepath.Join(dir, "node_modules", "esbuild")) {
		t.Fatal("browser test needs node, the Debian chromium package (apt-get install chromium) and `npm ci --prefix test/e2e`")
	}
	runNodeSuite(t, node, dir, "browser.test.mjs", "bee-js in Chromium", 4*time.Minute, "CHROMIUM="+chromium)
}
