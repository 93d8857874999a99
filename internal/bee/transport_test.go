package bee

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitOrRelease holds a request until the client gives up or the test releases it.
func waitOrRelease(r *http.Request, release <-chan struct{}) bool {
	select {
	case <-release:
		return true
	case <-r.Context().Done():
		return false
	}
}

func TestReadTimeoutIsShortPurchaseTimeoutIsLong(t *testing.T) {
	// Every answer takes 1 s: longer than the read timeout, far shorter than the purchase timeout.
	c, _ := serve(t, Options{ReadTimeout: 200 * time.Millisecond, PurchaseTimeout: 30 * time.Second},
		func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
				return
			}
			writeJSON(w, http.StatusCreated, fmt.Sprintf(`{"batchID":%q,"txHash":"0x1","stamps":[]}`, testBatchID))
		})
	ctx := context.Background()
	start := time.Now()
	_, err := c.Stamps(ctx)
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, ErrUnreachable)
	require.True(t, IsTimeout(err), "%v", err)
	require.Less(t, time.Since(start), 900*time.Millisecond, "the read gave up before the answer came")

	id, err := c.BuyStamp(ctx, big.NewInt(1), 17, "", true)
	require.NoError(t, err, "purchases outlive the read timeout")
	require.Equal(t, testBatchID, id)
	require.NoError(t, c.TopUp(ctx, testBatchID, big.NewInt(1)))
	require.NoError(t, c.Dilute(ctx, testBatchID, 18))
}

func TestPurchaseTimeoutIsUnknownOutcome(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var seen atomic.Int32
	c, _ := serve(t, Options{PurchaseTimeout: 200 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		waitOrRelease(r, release)
	})
	_, err := c.BuyStamp(context.Background(), big.NewInt(1), 17, "x", true)
	require.True(t, IsTimeout(err), "%v", err)
	require.ErrorIs(t, err, ErrUnreachable)
	require.EqualValues(t, 1, seen.Load(), "the request reached Bee exactly once: no retry of a purchase")
	require.Contains(t, err.Error(), "bee POST /stamps/1/17?label=x")

	// The caller's own deadline counts the same way.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = c.TopUp(ctx, testBatchID, big.NewInt(5))
	require.True(t, IsTimeout(err), "%v", err)
}

func TestConnectionCutAfterSendIsUnknownOutcome(t *testing.T) {
	var seen atomic.Int32
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // Bee crashed or a proxy dropped the connection mid-purchase
		}
	})
	_, err := c.BuyStamp(context.Background(), big.NewInt(1), 17, "x", true)
	require.Error(t, err)
	require.True(t, IsTimeout(err), "%v", err)
	require.ErrorIs(t, err, ErrUnreachable)
	require.EqualValues(t, 1, seen.Load(), "POST is not retried")
}

func TestBodyCutAfterStatusIsUnknownOutcome(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"batchID":"6d3a`)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	_, err := c.BuyStamp(context.Background(), big.NewInt(1), 17, "x", true)
	require.True(t, IsTimeout(err), "%v", err)
}

func TestRefusedConnectionIsUnreachableNotTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := New("http://"+addr, Options{})
	require.NoError(t, err)
	_, err = c.BuyStamp(context.Background(), big.NewInt(1), 17, "x", true)
	require.ErrorIs(t, err, ErrUnreachable)
	require.False(t, IsTimeout(err), "a refused connection sent nothing: %v", err)
	require.Contains(t, err.Error(), "is Bee running and listening at http://"+addr)
	var ce *CallError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, http.MethodPost, ce.Method)

	_, err = c.Health(context.Background())
	require.ErrorIs(t, err, ErrUnreachable)
	require.False(t, errors.Is(err, ErrSyncing))
}

func TestIsTimeoutIgnoresOtherErrors(t *testing.T) {
	require.False(t, IsTimeout(nil))
	require.False(t, IsTimeout(errors.New("x")))
	require.False(t, IsTimeout(context.DeadlineExceeded), "only a call's error can be an unknown outcome")
	require.False(t, IsTimeout(ValidateBatchID("nope")))
	require.True(t, IsTimeout(fmt.Errorf("wrapped: %w", &CallError{Err: context.DeadlineExceeded})))
}

func TestOversizedAnswerIsRejected(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := strings.Repeat(" ", 1<<20)
		for i := 0; i <= maxAnswerBody>>20; i++ {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, `{"stamps":[]}`)
	})
	_, err := c.Stamps(context.Background())
	require.ErrorContains(t, err, "answer larger than 16 MiB")
}

func TestConnectionsAreReusedAfterEveryKindOfAnswer(t *testing.T) {
	var conns atomic.Int32
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			writeJSON(w, 200, `{"status":"ok","version":"2.8.0","apiVersion":"7.3.0"} trailing junk the decoder never reads`)
		case 1:
			writeJSON(w, 503, `{"code":503,"message":"syncing in progress"}`+strings.Repeat(" ", 200000))
		default:
			w.WriteHeader(502)
			fmt.Fprint(w, strings.Repeat("<p>bad gateway</p>", 10000))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Options{})
	require.NoError(t, err)
	for i := 0; i < 9; i++ {
		_, _ = c.Health(context.Background())
	}
	require.EqualValues(t, 9, n.Load())
	require.EqualValues(t, 1, conns.Load(), "bodies are drained and closed so the connection is reused")
}
