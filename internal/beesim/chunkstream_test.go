package beesim

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// wsClient is the least WebSocket client the tests need: handshake, masked binary frames
// out, frames in.
type wsClient struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialChunkStream(t *testing.T, url string, headers ...string) (*wsClient, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	req := "GET /chunks/stream HTTP/1.1\r\nHost: sim\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		req += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	_, err = conn.Write([]byte(req + "\r\n"))
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		return nil, resp.Status + " " + string(body)
	}
	// RFC 6455's example key and its accept value.
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
	return &wsClient{conn: conn, br: br}, ""
}

func (c *wsClient) send(t *testing.T, op byte, payload []byte) {
	t.Helper()
	frame := []byte{0x80 | op}
	if len(payload) < 126 {
		frame = append(frame, 0x80|byte(len(payload)))
	} else {
		frame = append(frame, 0x80|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(len(payload)))
	}
	mask := []byte{1, 2, 3, 4}
	frame = append(frame, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_, err := c.conn.Write(frame)
	require.NoError(t, err)
}

func (c *wsClient) receive(t *testing.T) (byte, []byte) {
	t.Helper()
	op, msg, err := readWSMessage(c.conn, c.br)
	require.NoError(t, err)
	return op, msg
}

func TestChunkStream(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "stream", true, true)
	foo := append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, "foo"...)

	// With a batch header: plain chunks, each acknowledged with an empty binary message.
	c, failed := dialChunkStream(t, url, "Swarm-Postage-Batch-Id", id)
	require.Empty(t, failed)
	c.send(t, 0x2, foo)
	op, msg := c.receive(t)
	require.Equal(t, byte(0x2), op)
	require.Empty(t, msg)
	status, _, got := do(t, http.MethodGet, url+"/chunks/2387e8e7d8a48c2a9339c97c1dc3461a9a7aa07e994c5cb8b38fd7c1b3e6ea48", nil)
	require.Equal(t, 200, status)
	require.Equal(t, string(foo), got)
	c.send(t, 0x1, []byte("text"))
	op, msg = c.receive(t)
	require.Equal(t, byte(0x8), op)
	require.EqualValues(t, 1003, binary.BigEndian.Uint16(msg))
	require.Equal(t, "invalid message", string(msg[2:]))

	// v2.8.1 without a batch header: each message starts with a pre-signed stamp.
	c, failed = dialChunkStream(t, url)
	require.Empty(t, failed)
	batchID, err := hex.DecodeString(id)
	require.NoError(t, err)
	stamp := append(batchID, make([]byte, stampSize-32)...)
	c.send(t, 0x2, append(stamp, foo...))
	op, msg = c.receive(t)
	require.Equal(t, byte(0x2), op)
	require.Empty(t, msg)
	c.send(t, 0x2, append(make([]byte, stampSize), foo...))
	op, msg = c.receive(t)
	require.Equal(t, byte(0x8), op)
	require.EqualValues(t, 1011, binary.BigEndian.Uint16(msg))
	require.Equal(t, "batch not found", string(msg[2:]))

	// Batch errors come before the upgrade, as HTTP answers.
	_, failed = dialChunkStream(t, url, "Swarm-Postage-Batch-Id", strings.Repeat("00", 32))
	require.Contains(t, failed, "404")
	require.Contains(t, failed, "batch with id not found")

	// v2.8.0 requires the batch header.
	_, oldURL := newServer(t, Options{BeeVersion: Version280})
	_, failed = dialChunkStream(t, oldURL)
	require.Contains(t, failed, "400")
	require.Contains(t, failed, "want required:")
}
