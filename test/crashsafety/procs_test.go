// Package crashsafety runs the real binaries as separate processes to check the stamp
// pool's money safety where only processes will do: Caddy killed with SIGKILL in the middle
// of purchases, acquires and injected uploads, and two Caddy instances sharing one storage.
// Afterwards the pool's ledger and the Bee simulator must agree: no paid batch orphaned,
// none bought twice, none issued twice.
package crashsafety

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
			cmd := exec.Command("go", "build", "-o", filepath.Join(tmp, pkg), "./cmd/"+pkg)
			cmd.Dir = filepath.Join("..", "..")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n", pkg, err)
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

// process is a started binary; kill and stop end its whole process group.
type process struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProcess(t *testing.T, logPath string, env []string, bin string, args ...string) *process {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, bin), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &process{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill is SIGKILL: no cleanup, no flush, like a crash or an OOM kill.
func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *process) firstLine(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(p.log); err == nil {
			line, err := bufio.NewReader(f).ReadString('\n')
			f.Close()
			if err == nil {
				return strings.TrimSpace(line)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s printed nothing", p.cmd.Path)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHTTP(t *testing.T, url string, p *process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			t.Fatalf("process exited while starting:\n%s", tail(b))
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}
