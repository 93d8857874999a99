package main

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// --- stalled readers (issue 13) ---

// spillPattern matches the coalescer's spill files in the system temp dir (B's default
// spill_dir).
const spillPattern = "caddy-bee-coalesce-*"

type stalledRow struct {
	Target    string
	Sockets   int
	Size      int64
	Hold      time.Duration
	RSSGrowth int64 // peak RSS while the sockets stalled, minus RSS before
	PeakSpill int64 // bytes in spill files, sampled
	BeeBytes  int64 // body bytes the simulator served meanwhile
}

// stalled opens sockets that each request a large download under its own key, read the
// response headers and then read nothing, and holds them: what does that cost the gateway
// (memory, disk) and Bee (bytes sent)? Stall timeouts (1 min by default) do not fire
// within the hold, so this measures what the sockets pin while they are alive.
func (bn *bench) stalled() ([]stalledRow, error) {
	if err := bn.sim.SetDownloadLatency(0); err != nil {
		return nil, err
	}
	var rows []stalledRow
	for _, t := range []*target{bn.a, bn.b} {
		ref, err := bn.sim.Synthetic(bn.opts.stalledSize, bn.nextSeed(), false)
		if err != nil {
			return nil, err
		}
		before, err := bn.sim.Stats()
		if err != nil {
			return nil, err
		}
		rssBefore := testkit.GroupRSS(t.proc.Cmd.Process.Pid)
		meter := testkit.StartRSS(t.proc.Cmd.Process.Pid)
		u, err := url.Parse(t.url)
		if err != nil {
			return nil, err
		}
		var conns []net.Conn
		closeAll := func() {
			for _, c := range conns {
				c.Close()
			}
		}
		for i := range bn.opts.stalledSockets {
			c, err := stallAfterHeaders(u.Host, fmt.Sprintf("/bytes/%s?k=%d", ref, i))
			if err != nil {
				closeAll()
				meter.Stop()
				return nil, fmt.Errorf("stalled socket %d to %s: %w", i, t.name, err)
			}
			conns = append(conns, c)
		}
		var peakSpill int64
		for end := time.Now().Add(bn.opts.stalledHold); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			peakSpill = max(peakSpill, spillBytes())
		}
		peak := meter.Stop()
		closeAll()
		// The simulator counts a download's bytes when it ends: once the gateway has let go
		// of the closed sockets.
		time.Sleep(2 * time.Second)
		after, err := bn.sim.Stats()
		if err != nil {
			return nil, err
		}
		row := stalledRow{Target: t.key, Sockets: len(conns), Size: bn.opts.stalledSize, Hold: bn.opts.stalledHold,
			RSSGrowth: max(peak-rssBefore, 0), PeakSpill: peakSpill, BeeBytes: after.BytesServed - before.BytesServed}
		rows = append(rows, row)
		bn.log("stalled %d x %s via %s for %v: RSS +%s, spill %s, Bee sent %s", row.Sockets, human(row.Size), t.key,
			row.Hold, human(row.RSSGrowth), human(row.PeakSpill), human(row.BeeBytes))
	}
	return rows, nil
}

// stallAfterHeaders sends a GET, reads the response headers and then nothing more.
func stallAfterHeaders(host, path string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 16) // small: read no body beyond the headers
	status, err := br.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, err
	}
	if !strings.Contains(status, " 200 ") {
		c.Close()
		return nil, fmt.Errorf("answered %q", strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if line == "\r\n" {
			return c, nil
		}
	}
}

func spillBytes() int64 {
	files, _ := filepath.Glob(filepath.Join(os.TempDir(), spillPattern))
	var total int64
	for _, f := range files {
		if info, err := os.Stat(f); err == nil {
			total += info.Size()
		}
	}
	return total
}

func (r *report) stalledTable(w func(string, ...any)) {
	if len(r.stalled) == 0 {
		return
	}
	w("## Stalled readers")
	w("")
	w("Sockets that each request a %s download under its own key, read the response headers and then read",
		human(r.stalled[0].Size))
	w("nothing, held for %v (issue 13's attack; `stall_timeout`, 1 min by default, cuts them later).", r.stalled[0].Hold)
	w("RSS growth is the peak during the hold minus RSS before; spill is what the coalescer's files held on disk;")
	w("Bee sent is what the simulator served for them until they closed (kernel socket buffers hold part of it).")
	w("")
	w("| Config | Sockets | RSS growth | Spill on disk | Bee sent |")
	w("|---|---:|---:|---:|---:|")
	for _, row := range r.stalled {
		w("| %s | %d | %s | %s | %s |", row.Target, row.Sockets, human(row.RSSGrowth), human(row.PeakSpill), human(row.BeeBytes))
	}
	w("")
}
