package caddymodule

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBeeJSEndToEnd runs the real bee-js client (test/e2e, pinned in its package.json)
// against a gateway with a pool in front of the simulator. `make test` and .ci/run install
// the npm dependencies first; elsewhere the test is skipped when they are missing, except
// under CI, where that is a failure.
func TestBeeJSEndToEnd(t *testing.T) {
	dir, err := filepath.Abs("../test/e2e")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil || !exists(filepath.Join(dir, "node_modules", "@ethersphere", "bee-js")) {
		if os.Getenv("CI") != "" {
			t.Fatalf("bee-js end-to-end test cannot run: need node and `npm ci --prefix test/e2e` (node: %v)", err)
		}
		t.Skip("node or test/e2e/node_modules missing: run `npm ci --prefix test/e2e`")
	}
	runNodeSuite(t, node, dir, "gateway.test.mjs", "bee-js", 3*time.Minute)
}

// runNodeSuite serves a gateway with a pool of two small batches on a fresh simulator and
// runs the node test script in dir against it (GATEWAY_URL, ADMIN_TOKEN, and env).
func runNodeSuite(t *testing.T, node, dir, script, name string, timeout time.Duration, env ...string) {
	t.Helper()
	const token = "e2e-admin-token"
	sim := startSimulator(t)
	gw := startGateway(t, poolSite(sim.URL, token, "reserve small 2"))
	waitPoolReserve(t, gw, token, 17, 2, 60*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GATEWAY_URL="+gw.URL, "ADMIN_TOKEN="+token), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", name, out)
	if err != nil {
		t.Fatalf("%s end-to-end test failed: %v", name, err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
