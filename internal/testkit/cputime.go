package testkit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// GroupCPU is the user+system CPU time process group pgid has used so far (from
// /proc/<pid>/stat; clock ticks of 10 ms). On a shared machine wall-clock throughput swings
// with other load; the proxy's own CPU per request does not.
func GroupCPU(pgid int) time.Duration {
	var ticks int64
	for _, pid := range groupPIDs(pgid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces) in parentheses.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
