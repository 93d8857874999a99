package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server the harness started; stop kills its whole process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // its combined output, for error messages
	done chan struct{}
}

// procs remembers every started process so that any exit path stops them all.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

func (ps *procs) start(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.done) }()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for _, p := range list {
		p.stop()
	}
}

func (p *proc) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the end of the process's output, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitHTTP polls url until it answers with any status, or the process dies.
func (p *proc) waitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited while starting:\n%s", p.name, p.tail())
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %s within %v:\n%s", p.name, url, timeout, p.tail())
}

// firstLine waits for the process to print its first line (the simulator prints its URL).
func (p *proc) firstLine(timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if f, err := os.Open(p.log); err == nil {
			line, err := bufio.NewReader(f).ReadString('\n')
			f.Close()
			if err == nil {
				return strings.TrimSpace(line), nil
			}
		}
		if p.exited() {
			return "", fmt.Errorf("%s exited while starting:\n%s", p.name, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("%s printed nothing within %v", p.name, timeout)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// rssMeter reports a process tree's peak resident memory. It resets the kernel's high-water
// mark (VmHWM) of every process in the group before a measurement, so a figure belongs to
// one workload, and also samples VmRSS in case the reset is not permitted.
type rssMeter struct {
	pgid   int
	cancel context.CancelFunc
	peak   chan int64
}

func startRSS(p *proc) *rssMeter {
	pgid := p.cmd.Process.Pid
	for _, pid := range groupPIDs(pgid) {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &rssMeter{pgid: pgid, cancel: cancel, peak: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := groupStatus(pgid, "VmRSS:"); v > peak {
				peak = v
			}
			select {
			case <-ctx.Done():
				if v := groupStatus(pgid, "VmHWM:"); v > peak {
					peak = v
				}
				m.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// stop returns the peak RSS in bytes since start.
func (m *rssMeter) stop() int64 {
	m.cancel()
	return <-m.peak
}

// groupPIDs lists the processes of a process group (nginx and varnish fork workers).
func groupPIDs(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pgid}
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// groupStatus sums a /proc/<pid>/status field (in kB) over the group, in bytes.
func groupStatus(pgid int, field string) int64 {
	var total int64
	for _, pid := range groupPIDs(pgid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, field); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}
