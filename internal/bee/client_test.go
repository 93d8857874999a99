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

const id = "6d3a0e2f4c8b1a9e7d5c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e"

func serve(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", Options{ReadTimeout: 2 * time.Second, PurchaseTimeout: 3 * time.Second})
	require.NoError(t, err)
	return c
}

func beeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func TestNewValidatesURL(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:1633", "ftp://x", "http://", "::"} {
		_, err := New(bad, Options{})
		require.Error(t, err, bad)
	}
	c, err := New("http://127.0.0.1:1633/", Options{})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1633", c.BaseURL())
}

func TestStampsDecodesBigIntegersAndRatio(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/stamps", r.URL.Path)
		fmt.Fprintf(w, `{"stamps":[{"batchID":%q,"utilization":1,"usable":true,"label":"caddy-bee-1","depth":17,
		"amount":"123456789012345678901234567890","bucketDepth":16,"blockNumber":42,"immutableFlag":true,
		"exists":true,"batchTTL":604800}]}`, id)
	})
	stamps, err := c.Stamps(context.Background())
	require.NoError(t, err)
	require.Len(t, stamps, 1)
	want, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	require.Equal(t, 0, want.Cmp(stamps[0].Amount))
	require.Equal(t, 0.5, stamps[0].UtilizationRatio, "ratio computed for Bee < 2.8.1")
	require.Equal(t, int64(604800), stamps[0].BatchTTL)
	require.True(t, stamps[0].ImmutableFlag)
}

func TestEmptyStamps(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"stamps":[]}`) })
	stamps, err := c.Stamps(context.Background())
	require.NoError(t, err)
	require.Empty(t, stamps)
}

func TestErrorsMapToSentinels(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   error
	}{
		{400, `{"code":400,"message":"out of funds"}`, ErrOutOfFunds},
		{402, `{"code":402,"message":"out of funds"}`, ErrOutOfFunds},
		{400, `{"code":400,"message":"insufficient amount for 24h minimum validity"}`, ErrInsufficientAmount},
		{429, `{"code":429,"message":"simultaneous on-chain operations not supported"}`, ErrBusy},
		{503, `{"code":503,"message":"Node is syncing. This endpoint is unavailable. Try again later."}`, ErrSyncing},
		{503, `{"code":503,"message":"syncing in progress"}`, ErrSyncing},
		{400, `{"code":400,"message":"batch not usable"}`, ErrNotUsable},
		{404, `{"code":404,"message":"issuer does not exist"}`, ErrNotFound},
		{403, `{"code":403,"message":"Chain is disabled. This endpoint is unavailable."}`, ErrChainDisabled},
	}
	for _, c := range cases {
		client := serve(t, func(w http.ResponseWriter, r *http.Request) { beeError(w, c.status, c.body) })
		_, err := client.Stamp(context.Background(), id)
		require.ErrorIs(t, err, c.want, c.body)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, c.status, apiErr.Status)
		require.False(t, IsTimeout(err), "an answer is not a timeout")
	}
}

func TestErrorReasonsAndNonJSONBodies(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		beeError(w, 400, `{"code":400,"message":"invalid path params","reasons":[{"field":"depth","error":"want min:17"}]}`)
	})
	_, err := c.BuyStamp(context.Background(), big.NewInt(1000), 16, "x", true)
	require.ErrorContains(t, err, "invalid path params (depth: want min:17)")

	c = serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		fmt.Fprint(w, "<html>\n<body>Bad   Gateway</body></html>")
	})
	_, err = c.ChainState(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 502, apiErr.Status)
	require.Equal(t, "<html> <body>Bad Gateway</body></html>", apiErr.Message)
}

func TestBuyStampSendsLabelAndImmutable(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, "/stamps/99999999999999999999/20", r.URL.Path)
		require.Equal(t, "caddy-bee 20/x&y", r.URL.Query().Get("label"))
		require.Equal(t, "false", r.Header.Get("Immutable"))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"batchID":%q,"txHash":"0xabc"}`, id)
	})
	amount, _ := new(big.Int).SetString("99999999999999999999", 10)
	got, err := c.BuyStamp(context.Background(), amount, 20, "caddy-bee 20/x&y", false)
	require.NoError(t, err)
	require.Equal(t, id, got)
}

func TestTimeoutsAreLongForPurchasesShortForReads(t *testing.T) {
	release := make(chan struct{})
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(2500 * time.Millisecond):
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"batchID":%q}`, id)
	})
	defer close(release)
	// The read timeout (2s) fires; the purchase timeout (3s) does not.
	_, err := c.Stamps(context.Background())
	require.Error(t, err)
	require.True(t, IsTimeout(err), "%v", err)
	_, err = c.BuyStamp(context.Background(), big.NewInt(1), 17, "", true)
	require.NoError(t, err)
}

func TestPurchaseTimeoutIsUnknownOutcome(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(4 * time.Second) })
	_, err := c.BuyStamp(context.Background(), big.NewInt(1), 17, "x", true)
	require.True(t, IsTimeout(err), "%v", err)
	require.ErrorIs(t, err, ErrUnreachable)
}

func TestUnreachableIsNotATimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	c, err := New("http://"+addr, Options{})
	require.NoError(t, err)
	_, err = c.BuyStamp(context.Background(), big.NewInt(1), 17, "x", true)
	require.ErrorIs(t, err, ErrUnreachable)
	require.False(t, IsTimeout(err), "a refused connection sent nothing: %v", err)
}

func TestBatchIDValidation(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) { t.Error("must not be called") })
	for _, bad := range []string{"", "0x" + id[2:], id[:63], id + "00", strings.Repeat("g", 64)} {
		_, err := c.Stamp(context.Background(), bad)
		require.Error(t, err)
		require.Error(t, c.TopUp(context.Background(), bad, big.NewInt(1)))
	}
	require.Error(t, c.TopUp(context.Background(), id, big.NewInt(0)))
}

func TestChainStateWalletHealthReadiness(t *testing.T) {
	var notReady atomic.Bool
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chainstate":
			fmt.Fprint(w, `{"chainTip":100,"block":99,"totalAmount":"1000000000000000000000","currentPrice":"24000"}`)
		case "/wallet":
			fmt.Fprint(w, `{"bzzBalance":"100000000000000000","nativeTokenBalance":"5","chainID":100,"walletAddress":"0xab"}`)
		case "/health":
			fmt.Fprint(w, `{"status":"ok","version":"2.8.0","apiVersion":"7.3.0"}`)
		case "/readiness":
			if notReady.Load() {
				beeError(w, 400, `{"code":400,"message":"notReady","status":"notReady"}`)
				return
			}
			fmt.Fprint(w, `{"status":"ready"}`)
		case "/stamps/topup/" + id + "/500", "/stamps/dilute/" + id + "/18":
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"batchID":%q,"txHash":"0x1"}`, id)
		default:
			http.NotFound(w, r)
		}
	})
	ctx := context.Background()
	cs, err := c.ChainState(ctx)
	require.NoError(t, err)
	require.Equal(t, "24000", cs.CurrentPrice.String())
	require.Equal(t, "1000000000000000000000", cs.TotalAmount.String())
	wallet, err := c.Wallet(ctx)
	require.NoError(t, err)
	require.Equal(t, "100000000000000000", wallet.BZZBalance.String())
	h, err := c.Health(ctx)
	require.NoError(t, err)
	require.Equal(t, "ok", h.Status)
	ok, err := c.Readiness(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	notReady.Store(true)
	ok, err = c.Readiness(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, c.TopUp(ctx, id, big.NewInt(500)))
	require.NoError(t, c.Dilute(ctx, id, 18))
	require.True(t, errors.Is(c.Dilute(ctx, id, 19), ErrNotFound))
}
