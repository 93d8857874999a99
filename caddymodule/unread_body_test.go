package caddymodule

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An injected HTTP/1 upload answered before its body was read to the end lets its connection
// go: the server neither waits for the rest of a silent client's body nor reads that rest as
// the connection's next request.
func TestUnreadUploadBodyClosesTheConnection(t *testing.T) {
	sim := startSimulator(t)
	gw := startGateway(t, fmt.Sprintf(`http://{addr} {
	bee %s {
		pool {
			block_time %s
			purchase_spacing 1ms
			reserve small 1
		}
		admin_token %s
		upload_idle_timeout 1s
	}
}`, sim.URL, testBlockTime, adminToken))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)

	for name, c := range map[string]struct {
		headers string
		length  int
		status  int
	}{
		// Bee refuses before reading the body (an unknown tag) and, the rest being over Go's
		// 256 KiB post-handler read, answers at once.
		"refused early": {"Swarm-Tag: 999999\r\n", 1 << 20, http.StatusNotFound},
		// The client goes silent mid-body: upload_idle_timeout ends it.
		"silent client": {"", 100000, http.StatusRequestTimeout},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", gw.Addr, 5*time.Second)
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
			_, err = fmt.Fprintf(conn, "POST /bytes HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n", gw.Addr, c.length, c.headers)
			require.NoError(t, err)
			_, err = conn.Write(make([]byte, 1000)) // then nothing more
			require.NoError(t, err)

			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if c.status == http.StatusRequestTimeout {
				// Over HTTP/1 the failed read may cancel the request first: reverse_proxy's 499.
				require.Contains(t, []int{http.StatusRequestTimeout, 499}, resp.StatusCode)
			} else {
				require.Equal(t, c.status, resp.StatusCode)
			}
			require.True(t, resp.Close, "the answer closes the connection (status %d)", resp.StatusCode)

			// The server lets the connection go at once: no wait for the rest of the body.
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			start := time.Now()
			_, err = br.ReadByte()
			require.ErrorIs(t, err, io.EOF, "the server closed the connection")
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}
