package beesim

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// WebSocket close codes Bee's chunk stream uses.
const (
	wsCloseUnsupportedData = 1003
	wsCloseTooBig          = 1009
	wsCloseInternalErr     = 1011
	wsMaxMessage           = stampSize + swarm.SOCMaxSize // Bee's read buffer: a stamp and a SOC
	wsGUID                 = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// serveChunkStream is GET /chunks/stream: a WebSocket whose binary messages are chunks
// (span+payload), each acknowledged with an empty binary message. With a batch header the
// node stamps them; without one (v2.8.1) every message starts with a pre-signed 113-byte
// stamp. A refused chunk closes the socket with 1011 and Bee's reason.
func (s *Sim) serveChunkStream(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Swarm-Postage-Batch-Id")
	if id == "" && !s.profile.v281 {
		writeError(w, http.StatusBadRequest, "invalid header params", reason{"swarm-postage-batch-id", "want required:"})
		return
	}
	var st *stamper // nil: every message carries its stamp
	if id != "" {
		var ok bool
		if st, ok = s.batchFor(w, r, "bytes", nil); !ok {
			return
		}
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") ||
		r.Header.Get("Sec-WebSocket-Version") != "13" || key == "" {
		writeError(w, http.StatusBadRequest, "upgrade failed")
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "upgrade failed")
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(key + wsGUID))
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	s.chunkStreamLoop(conn, rw.Reader, st)
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (s *Sim) chunkStreamLoop(conn net.Conn, br *bufio.Reader, st *stamper) {
	closeWith := func(code int, text string) {
		_ = writeWSFrame(conn, 0x8, append(binary.BigEndian.AppendUint16(nil, uint16(code)), text...))
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Minute))
		op, msg, err := readWSMessage(conn, br)
		switch {
		case errors.Is(err, errWSTooBig):
			closeWith(wsCloseTooBig, "message too big")
			return
		case err != nil:
			return
		case op == 0x8: // close: answer it and end
			_ = writeWSFrame(conn, 0x8, msg)
			return
		case op != 0x2:
			closeWith(wsCloseUnsupportedData, "invalid message")
			return
		case len(msg) < swarm.SpanSize:
			return
		}
		chunkStamper := st
		if st == nil {
			if len(msg) < stampSize+swarm.SpanSize {
				closeWith(wsCloseInternalErr, "message too small for stamp + chunk")
				return
			}
			s.mu.Lock()
			b, ok := s.batches[hex.EncodeToString(msg[:32])]
			ok = ok && s.listedLocked(b) && !s.expiredLocked(b)
			s.mu.Unlock()
			if !ok {
				closeWith(wsCloseInternalErr, "batch not found")
				return
			}
			msg = msg[stampSize:]
			chunkStamper = &stamper{sim: s} // pre-signed: the client keeps the bucket count
		}
		addr, ok := swarm.ChunkAddress(msg)
		if !ok {
			closeWith(wsCloseInternalErr, "invalid chunk data")
			return
		}
		if err := chunkStamper.stamp(addr[:]); err != nil {
			closeWith(wsCloseInternalErr, "batch is overissued")
			return
		}
		s.stats.uploads.Add(1)
		s.stats.bytesUploaded.Add(int64(len(msg)))
		if s.keepMore() {
			chunk := append([]byte(nil), msg...)
			e := &stored{chunk: chunk, size: int64(len(chunk))}
			if span := binary.LittleEndian.Uint64(chunk[:swarm.SpanSize]); span <= uint64(len(chunk)-swarm.SpanSize) {
				e.data = chunk[swarm.SpanSize : swarm.SpanSize+int(span)]
			}
			s.store(hex.EncodeToString(addr[:]), e)
		}
		if writeWSFrame(conn, 0x2, nil) != nil {
			return
		}
	}
}

var errWSTooBig = errors.New("websocket message too big")

// readWSMessage reads one (possibly fragmented) client message, answering pings on the way.
func readWSMessage(conn net.Conn, br *bufio.Reader) (byte, []byte, error) {
	var msg []byte
	var op byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return 0, nil, err
		}
		fin, frameOp, masked := h[0]&0x80 != 0, h[0]&0x0f, h[1]&0x80 != 0
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(br, ext[:]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(br, ext[:]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(ext[:])
		}
		if n+uint64(len(msg)) > wsMaxMessage {
			return 0, nil, errWSTooBig
		}
		var mask [4]byte
		if masked {
			if _, err := io.ReadFull(br, mask[:]); err != nil {
				return 0, nil, err
			}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return 0, nil, err
		}
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
		if frameOp == 0x9 { // ping
			if err := writeWSFrame(conn, 0xA, payload); err != nil {
				return 0, nil, err
			}
			continue
		}
		if frameOp == 0xA { // pong
			continue
		}
		if frameOp != 0 {
			op = frameOp
		}
		msg = append(msg, payload...)
		if fin {
			return op, msg, nil
		}
	}
}

// writeWSFrame writes one unmasked server frame.
func writeWSFrame(conn net.Conn, op byte, payload []byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	frame := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, byte(n))
	case n <= 0xffff:
		frame = append(frame, 126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(n))
	default:
		frame = append(frame, 127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	_, err := conn.Write(append(frame, payload...))
	return err
}
