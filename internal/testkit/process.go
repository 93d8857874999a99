package testkit

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a started binary in its own process group, its output in a log file. It dies
// with the process that started it (Pdeathsig), so a crashed test leaves no server behind.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	Log  string // path of its combined output
	done chan struct{}
	err  error // how it exited; set before done is closed
}

// Start runs bin with args and env (added to this process's), its output appended to logPath.
func Start(name, logPath string, env []string, bin string, args ...string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// Build compiles the main package pkg (e.g. "./cmd/caddy") of the module in dir into out.
func Build(dir, pkg, out string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// Wait waits for the process to exit and returns how it did (nil: status 0).
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill is SIGKILL to the whole group: no cleanup, no flush, like a crash or an OOM kill.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop is SIGTERM to the group, then SIGKILL if it has not ended within grace.
func (p *Process) Stop(grace time.Duration) {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Tail is the end of the process's output (at most n bytes), for error messages.
func (p *Process) Tail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// FirstLines waits for the first n lines the process printed (the simulator prints its
// URL first), without their line ends.
func (p *Process) FirstLines(n int, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if lines := readLines(p.Log, n); len(lines) == n {
			return lines, nil
		}
		if p.Exited() {
			return nil, fmt.Errorf("%s exited before printing %d lines:\n%s", p.Name, n, p.Tail(3000))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s printed fewer than %d lines within %v", p.Name, n, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polls another process's output: no event to wait on
	}
}

// FirstLine is FirstLines for one line.
func (p *Process) FirstLine(timeout time.Duration) (string, error) {
	lines, err := p.FirstLines(1, timeout)
	if err != nil {
		return "", err
	}
	return lines[0], nil
}

func readLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var lines []string
	for len(lines) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		lines = append(lines, strings.TrimSpace(line))
	}
	return lines
}

// WaitHTTP polls url until it answers with any status; it fails early when the process dies.
func (p *Process) WaitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited while starting:\n%s", p.Name, p.Tail(3000))
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %s within %v:\n%s", p.Name, url, timeout, p.Tail(2000))
		}
		time.Sleep(20 * time.Millisecond) // polls another process: no event to wait on
	}
}

// Processes remembers every process it started, so that any exit path stops them all.
type Processes struct {
	mu   sync.Mutex
	list []*Process
}

// Start is the package's Start, remembered for StopAll.
func (ps *Processes) Start(name, logPath string, env []string, bin string, args ...string) (*Process, error) {
	p, err := Start(name, logPath, env, bin, args...)
	if err != nil {
		return nil, err
	}
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

// StopAll stops every process started so far, each with grace before SIGKILL.
func (ps *Processes) StopAll(grace time.Duration) {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for _, p := range list {
		p.Stop(grace)
	}
}
