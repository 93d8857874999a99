package caddymodule

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
	beemetrics "github.com/swarmgate/caddy-bee/internal/metrics"
	"github.com/swarmgate/caddy-bee/internal/replay"
	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// silentUpload opens an injected upload announcing 10 MB and sends the first send bytes. Until
// quiet is closed it then sends one byte every keepAliveEvery, so the test decides when the
// upload goes silent rather than the machine's speed; after that it sends nothing. The answer
// (if any) arrives on the returned channel once the gateway ends it.
func silentUpload(t testing.TB, addr string, send int, quiet <-chan struct{}) <-chan int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "POST /bytes HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\n"+
		"Content-Length: 10000000\r\n\r\n", addr)
	require.NoError(t, err)
	_, err = conn.Write(randomBytes(send))
	require.NoError(t, err)
	go func() {
		tick := time.NewTicker(keepAliveEvery)
		defer tick.Stop()
		for {
			select {
			case <-quiet:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte{0}); err != nil {
					return
				}
			}
		}
	}()
	answer := make(chan int, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answer <- 0 // closed without an answer
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	return answer
}

// keepAliveEvery is how often a silent upload sends a byte until it is told to go quiet: far
// inside the idle timeout below, so no upload is ended before the test lets it go silent.
const keepAliveEvery = time.Second

// Silent uploads (an attack: announce 10 MB, send some, go silent) hold no more replay
// memory than max_replay_memory and are ended after upload_idle_timeout, recorded against no
// batch; honest uploads meanwhile succeed, and a rejected small one is still replayed while
// the bound has room for it.
//
// SILENT_UPLOADS sets the number of silent uploads (default 60; half send 900 kB, under the
// 1 MiB replay limit, so they keep their copy; half 1.2 MB).
func TestSilentUploadsStayInsideTheReplayBound(t *testing.T) {
	silent := 60
	if s := os.Getenv("SILENT_UPLOADS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		silent = n
	}
	const (
		bound = 8<<20 + 512<<10 // eight 1 MiB copies plus room for small uploads
		// Many keep-alive intervals: the uploads stay open until the test lets them go silent
		// (their bytes take tens of seconds to reach Bee under -race on a loaded machine).
		idleTimeout = 10 * time.Second
	)
	// The simulator keeps no uploaded content, so this process's heap is the gateway's.
	// Level-0 uploads (Bee v2.8.0's default): at v2.8.1's MEDIUM the simulator's parity
	// encoder holds ~0.5 MiB per open upload in this same process, which would hide the
	// gateway's own heap.
	sim := beesim.New(beesim.Options{BlockTime: testBlockTime, MaxStoredBytes: 1, BeeVersion: beesim.Version280})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	// No replacement purchases and no periodic sync: only Bee's 402 retires a filled batch.
	// No content cache: the downloads that check honest uploads would stay in its memory tier.
	gw := startGateway(t, fmt.Sprintf(`http://{addr} {
	bee %s {
		cache off
		pool {
			block_time %s
			purchase_spacing 1ms
			reserve medium 4
			immediate_replenish off
			check_interval 1h
		}
		admin_token %s
		max_replay_memory %d
		upload_idle_timeout %s
	}
}`, srv.URL, testBlockTime, adminToken, bound, idleTimeout))
	waitPoolReserve(t, gw, adminToken, 20, 4, 60*time.Second)
	resp, body := post(t, gw.URL+"/bytes", randomBytes(300_000), nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "warm-up: %s", body)

	okBefore := counterValue(beemetrics.Injections.WithLabelValues("ok"))
	retriedBefore := counterValue(beemetrics.Injections.WithLabelValues("retried"))
	idleBefore := counterValue(beemetrics.UploadsIdleEnded)
	noRoomBefore := counterValue(beemetrics.ReplayNoRoom)
	heapBefore, rssBefore := testkit.HeapInUse(), testkit.SelfRSS()

	// The attack. Under the limit first (they keep copies until the bound is full), then over
	// it (a copy is given back once more than 1 MiB went through).
	// The uploads keep their copies until the test has checked what a full bound means for
	// other uploads; only then do they go silent.
	quiet := make(chan struct{})
	var quietOnce sync.Once
	goQuiet := func() { quietOnce.Do(func() { close(quiet) }) }
	t.Cleanup(goQuiet)
	var answers []<-chan int
	var sent int64
	uploadedBefore := sim.Stats().BytesUploaded
	for i := 0; i < silent; i++ {
		size := 900_000
		if i >= silent/2 {
			size = 1_200_000
		}
		answers = append(answers, silentUpload(t, gw.Addr, size, quiet))
		sent += int64(size)
	}
	for deadline := time.Now().Add(2 * time.Minute); sim.Stats().BytesUploaded-uploadedBefore < sent-int64(silent)*4096; {
		if time.Now().After(deadline) {
			t.Fatalf("the silent uploads' bytes did not reach Bee: %d of %d", sim.Stats().BytesUploaded-uploadedBefore, sent)
		}
		time.Sleep(20 * time.Millisecond)
	}

	st := replayMemory.Stats()
	heapDuring, rssDuring := testkit.HeapInUse(), testkit.SelfRSS()
	t.Logf("%d silent uploads held: replay copies %d bytes (bound %d, idle buffers %d; %.0f uploads without a copy), "+
		"heap %+.1f MiB, RSS %+.1f MiB", silent, st.Held, st.Max, st.Idle, counterValue(beemetrics.ReplayNoRoom)-noRoomBefore,
		mib(heapDuring, heapBefore), mib(rssDuring, rssBefore))
	require.EqualValues(t, bound, st.Max)
	require.LessOrEqual(t, st.Held+st.Idle, int64(bound), "replay copies beyond max_replay_memory")
	require.GreaterOrEqual(t, st.Held, int64(min(silent/2, 8))*replay.Limit, "the uploads under the limit keep copies")
	require.Positive(t, counterValue(beemetrics.ReplayNoRoom)-noRoomBefore, "uploads beyond the bound stream without a copy")
	// Each upload's connections and buffers come on top of the bound: the gateway's and the
	// simulated Bee's (whose real chunk tree keeps a chunk and a BMT hasher per open upload),
	// ~210 KiB together measured; allow 300 KiB. Unbounded copies would add 1 MiB per upload.
	require.Less(t, mib(heapDuring, heapBefore), float64(bound)/(1<<20)+float64(silent)*300/1024,
		"heap grew beyond the replay bound plus connection overhead")

	// Honest uploads go through meanwhile.
	var wg sync.WaitGroup
	honest := 8
	codes := make(chan int, honest)
	for i := 0; i < honest; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := post(t, gw.URL+"/bytes", randomBytes(200_000), nil)
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		require.Equal(t, http.StatusCreated, code)
	}

	// A small upload fits in the room left: Bee refuses its batch and it is replayed.
	full := getPoolStatus(t, gw, adminToken).Active["20"].BatchID
	require.True(t, sim.FillBatch(full))
	small := randomBytes(50_000)
	resp, body = post(t, gw.URL+"/bytes", small, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "a rejected small upload must be replayed: %s", body)
	require.Contains(t, retiredReason(t, gw, full), "402")

	// A larger one finds no room: Bee's refusal reaches the client, as for a body over 1 MiB.
	// The silent uploads still hold their copies: the bound has no room for another.
	require.Zero(t, counterValue(beemetrics.UploadsIdleEnded)-idleBefore, "no silent upload may end before it goes silent")
	require.Greater(t, replayMemory.Held()+replay.Limit, int64(bound), "the silent uploads' copies fill the bound: %+v", replayMemory.Stats())
	next := getPoolStatus(t, gw, adminToken).Active["20"].BatchID
	require.True(t, sim.FillBatch(next))
	resp, body = post(t, gw.URL+"/bytes", randomBytes(200_000), nil)
	require.Equal(t, http.StatusPaymentRequired, resp.StatusCode, "no room for a copy: Bee's answer: %s", body)
	require.Contains(t, retiredReason(t, gw, next), "402")

	// Every silent upload is ended after the idle timeout once it goes silent: 408, or 499 when
	// the failed read cancelled the request (HTTP/1 does) before the proxy saw the read's error.
	goQuiet()
	for i, a := range answers {
		select {
		case code := <-a:
			require.Contains(t, []int{http.StatusRequestTimeout, 499}, code, "silent upload %d", i)
		case <-time.After(idleTimeout + time.Minute):
			t.Fatalf("silent upload %d was never ended", i)
		}
	}
	require.Eventually(t, func() bool { return replayMemory.Held() == 0 }, 10*time.Second, 10*time.Millisecond,
		"replay copies still held after every upload ended: %+v", replayMemory.Stats())
	require.EqualValues(t, silent, counterValue(beemetrics.UploadsIdleEnded)-idleBefore)
	require.EqualValues(t, honest, counterValue(beemetrics.Injections.WithLabelValues("ok"))-okBefore,
		"only the honest uploads are recorded against a batch")
	require.EqualValues(t, 1, counterValue(beemetrics.Injections.WithLabelValues("retried"))-retriedBefore)

	heapAfter, rssAfter := testkit.HeapInUse(), testkit.SelfRSS()
	st = replayMemory.Stats()
	t.Logf("after: replay copies %d bytes, free list %d bytes, heap %+.1f MiB, RSS %+.1f MiB against the start",
		st.Held, st.Idle, mib(heapAfter, heapBefore), mib(rssAfter, rssBefore))
	require.LessOrEqual(t, st.Idle, int64(replay.DefaultMaxIdle*replay.Limit))
	// What stays besides the free list is connection state of the test's own clients and of
	// connections still closing (~28 KiB per silent upload measured), not replay memory, plus
	// up to a few MiB of whole-process noise (the pool's bucket reads, GC timing of other
	// in-process state). Copies kept after their upload would add 1 MiB per silent upload.
	require.Less(t, mib(heapAfter, heapBefore)-float64(st.Idle)/(1<<20), 6+float64(silent)*64/1024,
		"memory is given back after the burst, but for the short free list")
}

// mib is a-b in MiB, signed.
func mib(a, b uint64) float64 { return (float64(a) - float64(b)) / (1 << 20) }

// counterValue reads a counter's current value.
func counterValue(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// A client that pauses less than upload_idle_timeout is never cut; a trickling one is ended
// by the server's own read_body timeout, which the idle guard never extends, and that is not
// counted as idle.
func TestSlowClientsAgainstIdleTimeoutAndReadBody(t *testing.T) {
	sim := startSimulator(t)
	gw := startGatewayWithGlobals(t, "\tservers {\n\t\ttimeouts {\n\t\t\tread_body 4s\n\t\t}\n\t}",
		fmt.Sprintf(`http://{addr} {
	bee %s {
		pool {
			block_time %s
			purchase_spacing 1ms
			reserve small 1
		}
		admin_token %s
		upload_idle_timeout 2s
	}
}`, sim.URL, testBlockTime, adminToken))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)
	idleBefore := counterValue(beemetrics.UploadsIdleEnded)

	// Pauses of 300 ms, well inside the idle timeout: the upload completes.
	data := randomBytes(200_000)
	pr, pw := io.Pipe()
	go func() {
		for off := 0; off < len(data); off += 50_000 {
			time.Sleep(300 * time.Millisecond) // the client's pace, not synchronisation
			_, _ = pw.Write(data[off : off+50_000])
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, gw.URL+"/bytes", pr)
	require.NoError(t, err)
	req.ContentLength = int64(len(data))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	requireDownloadsBack(t, gw, body, data)

	// A byte every 300 ms never looks idle; read_body (4 s for the whole request) ends it.
	conn, err := net.DialTimeout("tcp", gw.Addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /bytes HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n", gw.Addr)
	require.NoError(t, err)
	start := time.Now()
	for i := 0; i < 1000; i++ {
		time.Sleep(300 * time.Millisecond) // the client's pace
		if _, err := conn.Write([]byte{'x'}); err != nil || time.Since(start) > 20*time.Second {
			break // the gateway closed the connection
		}
	}
	elapsed := time.Since(start)
	t.Logf("trickling upload ended after %s", elapsed.Round(100*time.Millisecond))
	require.Less(t, elapsed, 20*time.Second, "read_body did not end a trickling upload")
	require.Zero(t, counterValue(beemetrics.UploadsIdleEnded)-idleBefore, "the server's timeout is not an idle client")
}

// Over HTTP/2 (h2c here; the same stream deadlines serve TLS and HTTP/3) a silent injected
// upload is ended too, and an honest one completes.
func TestSilentUploadOverHTTP2IsEnded(t *testing.T) {
	sim := startSimulator(t)
	gw := startGatewayWithGlobals(t, "\tservers {\n\t\tprotocols h1 h2c\n\t}",
		fmt.Sprintf(`http://{addr} {
	bee %s {
		pool {
			block_time %s
			purchase_spacing 1ms
			reserve small 1
		}
		admin_token %s
		upload_idle_timeout 2s
	}
}`, sim.URL, testBlockTime, adminToken))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	idleBefore := counterValue(beemetrics.UploadsIdleEnded)

	data := randomBytes(300_000)
	resp, err := client.Post(gw.URL+"/bytes", "application/octet-stream", bytes.NewReader(data))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "HTTP/2.0", resp.Proto)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	requireDownloadsBack(t, gw, body, data)

	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write(randomBytes(500_000)) }() // then silence
	req, err := http.NewRequest(http.MethodPost, gw.URL+"/bytes", pr)
	require.NoError(t, err)
	// Within the replay limit: a larger upload could not be sent again after a 402, and on
	// this depth-17 pool it would be told to wait for room (503) before any byte went out.
	req.ContentLength = 900_000
	resp, err = client.Do(req)
	require.NoError(t, err, "the gateway answers the silent stream")
	resp.Body.Close()
	require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	require.EqualValues(t, 1, counterValue(beemetrics.UploadsIdleEnded)-idleBefore)
	require.Zero(t, replayMemory.Held())
}
