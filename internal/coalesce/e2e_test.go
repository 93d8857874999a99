package coalesce

// End to end over real loopback HTTP: clients -> front server (Group) -> httputil.ReverseProxy
// -> origin, the same shape as Caddy's bee handler in front of reverse_proxy and Bee.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

type gateway struct {
	g       *Group
	front   *httptest.Server
	client  *http.Client
	origins atomic.Int32 // requests the origin received
}

// newGateway serves origin behind a reverse proxy behind the Group, and answers like the
// Caddy layer: an aborted upstream breaks the connection, another error becomes a 502.
func newGateway(t *testing.T, opts Options, origin http.HandlerFunc) *gateway {
	gw := &gateway{g: New(opts)}
	originSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw.origins.Add(1)
		origin(w, r)
	}))
	t.Cleanup(originSrv.Close)
	target, _ := url.Parse(originSrv.URL)
	proxyTransport := &http.Transport{}
	t.Cleanup(proxyTransport.CloseIdleConnections)
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: proxyTransport,
		ErrorLog:  log.New(io.Discard, "", 0), // the cut-body test provokes copy errors on purpose
	}
	upstream := func(w http.ResponseWriter, r *http.Request) error {
		proxy.ServeHTTP(w, r) // panics with http.ErrAbortHandler on a cut body, like Caddy
		return nil
	}
	gw.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := gw.g.ServeHTTP(w, r, upstream)
		if errors.Is(err, ErrUpstreamAborted) {
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(gw.front.Close)
	clientTransport := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 100}
	t.Cleanup(clientTransport.CloseIdleConnections)
	gw.client = &http.Client{Transport: clientTransport}
	return gw
}

type fetched struct {
	status int
	body   []byte
	err    error
}

func (gw *gateway) fetch(ctx context.Context, path string, readHook func(got int)) <-chan fetched {
	out := make(chan fetched, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.front.URL+path, nil)
		res, err := gw.client.Do(req)
		if err != nil {
			out <- fetched{err: err}
			return
		}
		defer res.Body.Close()
		var body bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			body.Write(buf[:n])
			if n > 0 && readHook != nil {
				readHook(body.Len())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				out <- fetched{status: res.StatusCode, body: body.Bytes(), err: err}
				return
			}
		}
		out <- fetched{status: res.StatusCode, body: body.Bytes()}
	}()
	return out
}

func (gw *gateway) key(path string) *http.Request { return get(gw.front.URL + path) }

func awaitFetch(t *testing.T, ch <-chan fetched) fetched {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-contextDone(t):
		t.Fatal("client did not finish")
		return fetched{}
	}
}

func contextDone(t *testing.T) <-chan struct{} {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx.Done()
}

// streamingOrigin sends Content-Length, then body in two halves with a gate between.
func streamingOrigin(body []byte, firstHalfSent chan<- struct{}, secondHalf <-chan struct{}, originCtxErr *atomic.Value) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Content-Type", "application/octet-stream")
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		w.(http.Flusher).Flush()
		firstHalfSent <- struct{}{}
		select { // never outlive the test, whatever the gateway does
		case <-secondHalf:
		case <-r.Context().Done():
		}
		originCtxErr.Store(errorString(r.Context().Err()))
		_, _ = w.Write(body[half:])
	}
}

func errorString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestEndToEndLeaderDisconnectsFollowersComplete(t *testing.T) {
	body := pattern(2 << 20)
	begin := make(chan struct{})
	firstHalf := make(chan struct{}, 1)
	secondHalf := make(chan struct{})
	var originCtxErr atomic.Value
	origin := streamingOrigin(body, firstHalf, secondHalf, &originCtxErr)
	gw := newGateway(t, Options{MemoryWindow: 256 << 10, TempDir: t.TempDir()}, func(w http.ResponseWriter, r *http.Request) {
		<-begin // followers join a flight before its first byte: later ones would start their own
		origin(w, r)
	})

	leaderCtx, leaderGone := context.WithCancel(context.Background())
	leaderRead := make(chan struct{}, 1)
	leader := gw.fetch(leaderCtx, "/bytes/big", func(got int) {
		select {
		case leaderRead <- struct{}{}:
		default:
		}
	})
	waitFor(t, "the leader's upstream request", func() bool { return gw.origins.Load() == 1 })
	var followers []<-chan fetched
	for range 10 {
		followers = append(followers, gw.fetch(context.Background(), "/bytes/big", nil))
	}
	waitFor(t, "followers to join", func() bool { return gw.g.waitersOn(gw.key("/bytes/big")) == 11 })
	close(begin)
	<-firstHalf
	<-leaderRead
	leaderGone() // the leader's client closes its connection mid-body
	require.Error(t, awaitFetch(t, leader).err)
	waitFor(t, "the leader's handler to leave", func() bool { return gw.g.waitersOn(gw.key("/bytes/big")) == 10 })

	close(secondHalf)
	for _, ch := range followers {
		f := awaitFetch(t, ch)
		require.NoError(t, f.err)
		require.Equal(t, http.StatusOK, f.status)
		require.True(t, bytes.Equal(body, f.body), "follower body")
	}
	require.Equal(t, "", originCtxErr.Load(), "the upstream request outlived the leader's client")
	require.Equal(t, int32(1), gw.origins.Load())
}

func TestEndToEndCutBodyBreaksEveryClient(t *testing.T) {
	release := make(chan struct{})
	gw := newGateway(t, Options{MemoryWindow: 1 << 10, TempDir: t.TempDir()}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(pattern(1500)) // less than net/http's response buffer: lost unless flushed
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the origin drops the connection mid-body
	})
	var clients []<-chan fetched
	for range 5 {
		clients = append(clients, gw.fetch(context.Background(), "/bytes/cut", nil))
	}
	waitFor(t, "clients to join", func() bool { return gw.g.waitersOn(gw.key("/bytes/cut")) == 5 })
	close(release)
	for _, ch := range clients {
		f := awaitFetch(t, ch)
		require.ErrorIs(t, f.err, io.ErrUnexpectedEOF, "a cut body is a broken response, never a short 200")
		require.Equal(t, pattern(1500), f.body, "every byte that arrived reaches the client")
	}
	require.Equal(t, int32(1), gw.origins.Load())
}

func TestEndToEndOriginErrorStatusReachesEveryClient(t *testing.T) {
	release := make(chan struct{})
	gw := newGateway(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":404,"message":"Not Found"}`))
	})
	var clients []<-chan fetched
	for range 5 {
		clients = append(clients, gw.fetch(context.Background(), "/bzz/nope", nil))
	}
	waitFor(t, "clients to join", func() bool { return gw.g.waitersOn(gw.key("/bzz/nope")) == 5 })
	close(release)
	for _, ch := range clients {
		f := awaitFetch(t, ch)
		require.NoError(t, f.err)
		require.Equal(t, http.StatusNotFound, f.status)
		require.JSONEq(t, `{"code":404,"message":"Not Found"}`, string(f.body))
	}
	require.Equal(t, int32(1), gw.origins.Load())
}
