package caddymodule

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Through real Caddy: sockets that read the headers of a large download and then stop are
// cut after stall_timeout (Caddy's ResponseWriter takes the write deadlines), Bee is not
// made to send the rest, another client's download completes meanwhile, and a cut client
// is no ERROR in the log.
func TestStalledDownloadsAreCutThroughCaddy(t *testing.T) {
	const (
		size    = 256 << 20
		stalled = 4
	)
	var upstreamDone, upstreamSent atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer upstreamDone.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(size))
		n, _ := io.Copy(w, &patternReader{left: size})
		upstreamSent.Add(n)
	}))
	defer up.Close()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	gw := startGatewayWithGlobals(t, fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tformat json\n\t}", logFile),
		"http://{addr} {\n\tbee "+up.URL+" {\n\t\tcoalesce {\n\t\t\tstall_timeout 1s\n\t\t\tmax_memory 1MiB\n\t\t\tmax_spill 4MiB\n\t\t}\n\t}\n}")
	cutBefore := metricValue(t, "caddy_bee_coalescer_stalled_readers_cut_total")

	var conns []net.Conn
	for i := range stalled {
		conn, err := net.Dial("tcp", gw.Addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "GET /bytes/%s?k=%d HTTP/1.1\r\nHost: %s\r\n\r\n", testRef, i, gw.Addr)
		require.NoError(t, err)
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReaderSize(conn, 16)
		for {
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			if line == "\r\n" {
				break
			}
		}
		conns = append(conns, conn)
	}

	resp, err := http.Get(gw.URL + "/bytes/" + testRef + "?k=reader")
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.EqualValues(t, size, n)

	require.Eventually(t, func() bool {
		return metricValue(t, "caddy_bee_coalescer_stalled_readers_cut_total")-cutBefore >= stalled
	},
		30*time.Second, 20*time.Millisecond, "stalled sockets cut")
	require.Eventually(t, func() bool { return upstreamDone.Load() == stalled+1 }, 30*time.Second, 20*time.Millisecond,
		"the upstream requests of cut clients end")
	sent := upstreamSent.Load() - size
	t.Logf("%d stalled sockets on a %d MiB body: Bee sent %d MiB for them", stalled, size>>20, sent>>20)
	require.Less(t, sent, int64(stalled*size/4), "Bee was made to send bodies nobody reads")

	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		require.NotContains(t, line, `"level":"error"`, "a cut client is no ERROR")
	}
	_ = conns
}
