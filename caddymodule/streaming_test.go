package caddymodule

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

const streamSize = 1 << 30 // 1 GiB

// patternReader yields n bytes without holding them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = byte(i)
	}
	p.left -= int64(len(b))
	return len(b), nil
}

// A 1 GiB upload and a 1 GiB download stream through the gateway: the heap grows by a few
// MiB at most, never by the body.
func TestStreamsGiBUploadAndDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 2 GiB")
	}
	var received atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, _ := io.Copy(io.Discard, r.Body)
			received.Store(n)
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(streamSize))
		_, _ = io.Copy(w, &patternReader{left: streamSize})
	}))
	defer up.Close()
	// Downloads go through the coalescer, which may hold memory_window bytes per flight.
	const window = 4 << 20
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+" {\n\t\tcoalesce {\n\t\t\tmemory_window 4MiB\n\t\t}\n\t}\n}")
	const bound = 16<<20 + window

	stop := make(chan struct{})
	peak := testkit.HeapPeak(stop)
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/bytes", &patternReader{left: streamSize})
	req.ContentLength = streamSize
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	close(stop)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.EqualValues(t, streamSize, received.Load())
	grew := <-peak
	t.Logf("upload 1 GiB: heap peak +%d KiB", grew>>10)
	require.Less(t, grew, uint64(bound), "upload was buffered")

	stop = make(chan struct{})
	peak = testkit.HeapPeak(stop)
	resp, err = http.Get(gw.URL + "/bytes/" + testRef)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(stop)
	require.NoError(t, err)
	require.EqualValues(t, streamSize, n)
	grew = <-peak
	t.Logf("download 1 GiB: heap peak +%d KiB", grew>>10)
	require.Less(t, grew, uint64(bound), "download was buffered")
}

// The /chunks/stream WebSocket upgrade passes through the gateway both ways.
func TestWebSocketChunksStreamPassesThrough(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/chunks/stream" || r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want a websocket upgrade on /chunks/stream", http.StatusBadRequest)
			return
		}
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		_ = rw.Flush()
		// Echo raw bytes: enough to prove the tunnel carries data both ways.
		buf := make([]byte, 5)
		if _, err := io.ReadFull(rw, buf); err == nil {
			_, _ = rw.Write(buf)
			_ = rw.Flush()
		}
	}))
	defer up.Close()
	gw := startGateway(t, "http://{addr} {\n\tbee "+up.URL+"\n}")

	conn, err := net.DialTimeout("tcp", gw.Addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = conn.Write([]byte("GET /chunks/stream HTTP/1.1\r\nHost: " + gw.Addr + "\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
	_, err = conn.Write([]byte("hello"))
	require.NoError(t, err)
	echo := make([]byte, 5)
	_, err = io.ReadFull(br, echo)
	require.NoError(t, err)
	require.Equal(t, "hello", string(echo))
}
