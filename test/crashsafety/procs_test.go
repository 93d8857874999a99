// Package crashsafety runs the real binaries as separate processes to check the stamp
// pool's money safety where only processes will do: Caddy killed with SIGKILL in the middle
// of purchases, acquires and injected uploads, and two Caddy instances sharing one storage.
// Afterwards the pool's ledger and the Bee simulator must agree: no paid batch orphaned,
// none bought twice, none issued twice.
package crashsafety

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// binDir holds caddy and beesim: CADDY_BEE_BIN (make sets it to bin/ after make build), or
// a fresh build in a temp dir.
var binDir string

func TestMain(m *testing.M) {
	binDir = os.Getenv("CADDY_BEE_BIN")
	var tmp string
	if binDir == "" {
		var err error
		tmp, err = os.MkdirTemp("", "crashsafety-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		binDir = tmp
		for _, pkg := range []string{"caddy", "beesim"} {
			if err := testkit.Build(filepath.Join("..", ".."), "./cmd/"+pkg, filepath.Join(tmp, pkg)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// startProcess starts bin from binDir; it is killed (SIGKILL) when the test ends.
func startProcess(t *testing.T, logPath string, env []string, bin string, args ...string) *testkit.Process {
	t.Helper()
	p, err := testkit.Start(bin, logPath, env, filepath.Join(binDir, bin), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// firstLines waits for the first n lines the process printed.
func firstLines(t *testing.T, p *testkit.Process, n int) []string {
	t.Helper()
	lines, err := p.FirstLines(n, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := testkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func waitHTTP(t *testing.T, url string, p *testkit.Process) {
	t.Helper()
	if err := p.WaitHTTP(url, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}
