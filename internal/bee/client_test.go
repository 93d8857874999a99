package bee

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testBatchID = "6d3a0e2f4c8b1a9e7d5c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e"

// serve starts a loopback Bee stand-in and a client for it (with a trailing slash, which New trims).
func serve(t *testing.T, opts Options, h http.HandlerFunc) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", opts)
	require.NoError(t, err)
	return c, srv
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func bigInt(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	require.True(t, ok, s)
	return v
}

func TestNewValidatesURL(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:1633", "ftp://x", "http://", "::", "http://h:1633?x=1", "http://u:p@h:1633"} {
		_, err := New(bad, Options{})
		require.Error(t, err, bad)
		require.ErrorContains(t, err, "want http(s)://host:port", bad)
	}
	c, err := New("http://127.0.0.1:1633//", Options{})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1633", c.BaseURL())
	require.Equal(t, defaultReadTimeout, c.opts.ReadTimeout)
	require.Equal(t, defaultPurchaseTimeout, c.opts.PurchaseTimeout)

	c, err = New("https://bee.internal/api/", Options{ReadTimeout: time.Second})
	require.NoError(t, err)
	require.Equal(t, "https://bee.internal/api", c.BaseURL())
	require.Equal(t, time.Second, c.opts.ReadTimeout)
}

func TestStampsDecodesBothBeeVersions(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, http.MethodGet, r.Method)
		require.Equal(t, "/stamps", r.URL.Path)
		require.Equal(t, "caddy-bee-test", r.Header.Get("User-Agent"))
		// First as Bee 2.8.0 (no utilizationRatio), second as 2.8.1 (with it, and TTL unknown).
		writeJSON(w, 200, fmt.Sprintf(`{"stamps":[
		 {"batchID":%q,"utilization":3,"usable":true,"label":"caddy-bee-1","depth":20,
		  "amount":"123456789012345678901234567890","bucketDepth":16,"blockNumber":42,"immutableFlag":true,
		  "exists":true,"batchTTL":604800},
		 {"batchID":%q,"utilization":1,"utilizationRatio":0.25,"usable":false,"label":"","depth":18,
		  "amount":"9223372036854775808","bucketDepth":16,"blockNumber":43,"immutableFlag":false,
		  "exists":true,"batchTTL":-1}]}`, testBatchID, strings.Repeat("ab", 32)))
	})
	c.opts.UserAgent = "caddy-bee-test"
	stamps, err := c.Stamps(context.Background())
	require.NoError(t, err)
	require.Len(t, stamps, 2)

	first := stamps[0]
	require.Equal(t, testBatchID, first.BatchID)
	require.Equal(t, "123456789012345678901234567890", first.Amount.String())
	require.Equal(t, 3.0/16, first.UtilizationRatio, "ratio computed as utilization/2^(depth-bucketDepth) for Bee < 2.8.1")
	require.Equal(t, 3, first.Utilization)
	require.True(t, first.Usable)
	require.True(t, first.ImmutableFlag)
	require.True(t, first.Exists)
	require.Equal(t, "caddy-bee-1", first.Label)
	require.Equal(t, 20, first.Depth)
	require.Equal(t, 16, first.BucketDepth)
	require.Equal(t, uint64(42), first.BlockNumber)
	require.Equal(t, int64(604800), first.BatchTTL)

	second := stamps[1]
	require.Equal(t, "9223372036854775808", second.Amount.String(), "one past int64")
	require.Equal(t, 0.25, second.UtilizationRatio, "Bee's own ratio is kept")
	require.False(t, second.Usable)
	require.False(t, second.ImmutableFlag)
	require.Equal(t, int64(-1), second.BatchTTL)
}

func TestEmptyStampsIsAnEmptyList(t *testing.T) {
	for _, body := range []string{`{"stamps":[]}`, `{"stamps":null}`, `{}`} {
		c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
		stamps, err := c.Stamps(context.Background())
		require.NoError(t, err, body)
		require.NotNil(t, stamps, body)
		require.Empty(t, stamps, body)
	}
}

func TestStampByID(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/stamps/"+testBatchID, r.URL.Path)
		writeJSON(w, 200, fmt.Sprintf(`{"batchID":%q,"utilization":0,"utilizationRatio":0,"usable":true,
			"label":"l","depth":17,"amount":"100000000","bucketDepth":16,"blockNumber":7,"immutableFlag":true,
			"exists":true,"batchTTL":86400}`, testBatchID))
	})
	s, err := c.Stamp(context.Background(), testBatchID)
	require.NoError(t, err)
	require.Equal(t, testBatchID, s.BatchID)
	require.True(t, s.Usable)
	require.Equal(t, "100000000", s.Amount.String())
	require.Zero(t, s.UtilizationRatio)
}

func TestBuyStampRequest(t *testing.T) {
	var gotPath, gotQuery, gotImmutable, gotMethod atomic.Value
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		gotMethod.Store(r.Method)
		gotPath.Store(r.URL.Path)
		gotQuery.Store(r.URL.Query().Get("label") + "|" + r.URL.RawQuery)
		gotImmutable.Store(r.Header.Get("Immutable"))
		writeJSON(w, http.StatusCreated, fmt.Sprintf(`{"batchID":%q,"txHash":"0xabc"}`, testBatchID))
	})
	ctx := context.Background()
	amount := bigInt(t, "99999999999999999999999")

	label := "caddy-bee 20/x&y=z#?%+é"
	got, err := c.BuyStamp(ctx, amount, 20, label, false)
	require.NoError(t, err)
	require.Equal(t, testBatchID, got)
	require.Equal(t, http.MethodPost, gotMethod.Load())
	require.Equal(t, "/stamps/99999999999999999999999/20", gotPath.Load())
	query := gotQuery.Load().(string)
	require.True(t, strings.HasPrefix(query, label+"|label="), "label arrives intact: %s", query)
	require.Equal(t, "false", gotImmutable.Load())

	_, err = c.BuyStamp(ctx, amount, 17, "", true)
	require.NoError(t, err)
	require.Equal(t, "|", gotQuery.Load(), "no label, no query")
	require.Equal(t, "true", gotImmutable.Load(), "Immutable is always sent explicitly")

	for _, bad := range []*big.Int{nil, big.NewInt(0), big.NewInt(-5)} {
		_, err = c.BuyStamp(ctx, bad, 17, "", true)
		require.ErrorContains(t, err, "amount must be a positive")
	}
}

func TestBuyStampRejectsAnswerWithoutBatchID(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, `{"txHash":"0xabc"}`)
	})
	_, err := c.BuyStamp(context.Background(), big.NewInt(1), 17, "x", true)
	require.ErrorContains(t, err, "no valid batchID")
	require.False(t, IsTimeout(err))
}

func TestTopUpAndDiluteRequests(t *testing.T) {
	var calls atomic.Int32
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		require.Equal(t, http.MethodPatch, r.Method)
		switch r.URL.Path {
		case "/stamps/topup/" + testBatchID + "/18446744073709551616", "/stamps/dilute/" + testBatchID + "/21":
			writeJSON(w, http.StatusAccepted, fmt.Sprintf(`{"batchID":%q,"txHash":"0x1"}`, testBatchID))
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
			writeJSON(w, 404, `{"code":404,"message":"Not Found"}`)
		}
	})
	ctx := context.Background()
	require.NoError(t, c.TopUp(ctx, testBatchID, bigInt(t, "18446744073709551616")))
	require.NoError(t, c.Dilute(ctx, testBatchID, 21))
	require.EqualValues(t, 2, calls.Load())

	require.ErrorContains(t, c.TopUp(ctx, testBatchID, big.NewInt(0)), "positive")
	require.ErrorContains(t, c.TopUp(ctx, testBatchID, nil), "positive")
	require.ErrorContains(t, c.Dilute(ctx, testBatchID, 0), "positive")
	require.EqualValues(t, 2, calls.Load(), "invalid arguments are not sent")
}

func TestChainStateWalletHealth(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, http.MethodGet, r.Method)
		switch r.URL.Path {
		case "/chainstate":
			writeJSON(w, 200, `{"chainTip":40000100,"block":40000099,"totalAmount":"158925632749385732894562","currentPrice":"24000","minimumValidityBlocks":17280}`)
		case "/health":
			writeJSON(w, 200, `{"status":"ok","version":"2.8.0-5d2a6a9a","apiVersion":"7.3.0"}`)
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
	})
	ctx := context.Background()
	cs, err := c.ChainState(ctx)
	require.NoError(t, err)
	require.Equal(t, ChainState{ChainTip: 40000100, Block: 40000099,
		TotalAmount: bigInt(t, "158925632749385732894562"), CurrentPrice: big.NewInt(24000)}, cs)

	h, err := c.Health(ctx)
	require.NoError(t, err)
	require.Equal(t, Health{Status: "ok", Version: "2.8.0-5d2a6a9a", APIVersion: "7.3.0"}, h)
}

func TestBigIntegersNeverGoThroughFloats(t *testing.T) {
	// Number form for an amount: accepted exactly, beyond float64 precision.
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"chainTip":1,"block":1,"totalAmount":98765432109876543210,"currentPrice":"1"}`)
	})
	cs, err := c.ChainState(context.Background())
	require.NoError(t, err)
	require.Equal(t, "98765432109876543210", cs.TotalAmount.String(), "exact beyond float64 precision")

	for _, body := range []string{
		`{"chainTip":1,"block":1,"totalAmount":"1","currentPrice":"2.5"}`,
		`{"chainTip":1,"block":1,"totalAmount":"1","currentPrice":2.4e4}`,
		`{"chainTip":1,"block":1,"totalAmount":"1","currentPrice":"abc"}`,
	} {
		c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
		_, err := c.ChainState(context.Background())
		require.Error(t, err, body)
	}
}

func TestBatchIDValidationSendsNothing(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) { t.Errorf("request sent: %s", r.URL) })
	ctx := context.Background()
	for _, bad := range []string{"", "0x" + testBatchID[2:], testBatchID[:63], testBatchID + "00", strings.Repeat("g", 64), "../" + testBatchID[3:]} {
		_, err := c.Stamp(ctx, bad)
		require.ErrorContains(t, err, "want 64 hex characters", bad)
		require.Error(t, c.TopUp(ctx, bad, big.NewInt(1)), bad)
		require.Error(t, c.Dilute(ctx, bad, 20), bad)
	}
	require.NoError(t, ValidateBatchID(strings.ToUpper(testBatchID)))
}
