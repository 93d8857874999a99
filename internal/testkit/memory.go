package testkit

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HeapPeak samples this process's HeapInuse until stop is closed and sends the peak above
// the baseline taken (after a collection) when it was called.
func HeapPeak(stop <-chan struct{}) <-chan uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > base {
					peak = max(peak, ms.HeapInuse-base)
				}
			}
		}
	}()
	return out
}

// HeapInUse is the live heap after two full collections (the second empties sync.Pools'
// victim caches).
func HeapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// SelfRSS is this process's resident set size (Linux), 0 elsewhere.
func SelfRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(fields[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// RSSMeter reports a process group's peak resident memory (Linux). It resets the kernel's
// high-water mark (VmHWM) of every process in the group when it starts, so a figure
// belongs to one workload, and also samples VmRSS in case the reset is not permitted.
type RSSMeter struct {
	cancel context.CancelFunc
	peak   chan int64
}

// StartRSS measures the process group pgid (a Process's pid: Start makes each its own group).
func StartRSS(pgid int) *RSSMeter {
	for _, pid := range groupPIDs(pgid) {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &RSSMeter{cancel: cancel, peak: make(chan int64, 1)}
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

// Stop returns the peak RSS in bytes since StartRSS.
func (m *RSSMeter) Stop() int64 {
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

// GroupRSS is a process group's resident memory now, in bytes (Linux).
func GroupRSS(pgid int) int64 { return groupStatus(pgid, "VmRSS:") }
