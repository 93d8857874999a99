package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// The loopback limit: what this machine delivers, in the same run, when the same N clients
// fetch the same bytes from a plain file (Caddy's file_server, sendfile, no upstream). A
// stampede cannot deliver faster than that, whatever the proxy; B's target is a share of it.

// loopbackRow is the limit measured for one stampede case.
type loopbackRow struct {
	Size     int64
	N        int
	Delivery time.Duration // first response byte to last body byte, over all clients
	Summary  loadgen.Summary
}

// deliveredRate is the stampede case's bytes over its delivery time.
func deliveredRate(size int64, n int, delivery time.Duration) float64 {
	if delivery <= 0 {
		return 0
	}
	return float64(size) * float64(n) / delivery.Seconds()
}

// deliveryWindow is the time from the first response byte any client got to the last body
// byte: the time spent moving bytes once the upstream answered, so a stampede through a
// proxy (which first waits for Bee) compares with a file served at once.
func deliveryWindow(res []loadgen.Result) time.Duration {
	var first, last time.Duration = -1, 0
	for _, r := range res {
		if r.Err != nil {
			continue
		}
		if first < 0 || r.TTFB < first {
			first = r.TTFB
		}
		last = max(last, r.Latency)
	}
	if first < 0 {
		return 0
	}
	return last - first
}

// caddyfileFiles serves the limit's files with the write size caddy-bee gives downloads
// (caddymodule's downloadWriteChunk): with Caddy's default 64 KiB, file_server's sendfile
// calls are sixteen times as many and the "limit" fell below every proxy.
func caddyfileFiles(dir string, port int, root string) testkit.Caddyfile {
	return testkit.Caddyfile{Storage: filepath.Join(dir, "storage"), Port: port, Site: "root * " + root + "\nfile_server",
		WriteMaxChunk: "1MiB"}
}

// loopback measures the limit for every stampede case, with a file of each size.
func (bn *bench) loopback(ps *testkit.Processes, caddyBin, work string) ([]loopbackRow, error) {
	dir := filepath.Join(work, "files")
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	for _, size := range bn.opts.sizes {
		if err := writeRandomFile(filepath.Join(root, fmt.Sprint(size)), size); err != nil {
			return nil, err
		}
	}
	port, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	t, err := startCaddy(ps, caddyBin, "L", "Caddy file_server", dir, caddyfileFiles(dir, port, root), port)
	if err != nil {
		return nil, fmt.Errorf("start the file_server for the loopback limit: %w", err)
	}
	defer t.proc.Stop(stopGrace)
	var rows []loopbackRow
	for _, size := range bn.opts.sizes {
		// One unmeasured fetch first: the page cache and the server's first-request costs
		// are not the limit.
		if _, _, err := loadgen.Run(bn.ctx, loadgen.Plan{Concurrency: 1, Total: 1,
			Next: func(int) loadgen.Request { return get(fmt.Sprintf("%s/%d", t.url, size)) }}); err != nil {
			return nil, err
		}
		for _, n := range bn.opts.stampedeN {
			if err := bn.ctx.Err(); err != nil {
				return nil, err
			}
			url := fmt.Sprintf("%s/%d", t.url, size)
			var tries []loopbackRow
			for try := 0; try < stampedeRuns(size); try++ {
				row, err := bn.loopbackTry(t, url, size, n)
				if err != nil {
					return nil, err
				}
				tries = append(tries, row)
			}
			row := medianDelivery(tries, func(r loopbackRow) time.Duration { return r.Delivery })
			s := row.Summary
			rows = append(rows, row)
			bn.log("loopback %-6s x %-4d file_server: %s in %v, %s/s", human(size), n, s.StatusLine(),
				row.Delivery.Round(time.Millisecond), human(int64(deliveredRate(size, n, row.Delivery))))
		}
	}
	return rows, nil
}

// loopbackTry is one try of the file_server for a case.
func (bn *bench) loopbackTry(t *target, url string, size int64, n int) (loopbackRow, error) {
	client, err := bn.warmClient(t, n)
	if err != nil {
		return loopbackRow{}, err
	}
	res, wall, err := loadgen.Run(bn.ctx, loadgen.Plan{
		Concurrency: n, Total: n, StartTogether: true, Client: client,
		Next: func(int) loadgen.Request { return get(url) },
	})
	client.CloseIdleConnections()
	if err != nil {
		return loopbackRow{}, err
	}
	s, err := loadgen.Summarize(res, wall)
	if err != nil {
		return loopbackRow{}, err
	}
	return loopbackRow{Size: size, N: n, Delivery: deliveryWindow(res), Summary: s}, nil
}

func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, min(size, 1<<20))
	for left := size; left > 0; left -= int64(len(buf)) {
		chunk := buf[:min(left, int64(len(buf)))]
		_, _ = rand.Read(chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
