package bee

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// beeFailure is one error answer documented in docs/bee-api.md, with the sentinels it must match.
type beeFailure struct {
	status int
	body   string
	want   []error
}

var documentedFailures = []beeFailure{
	{503, `{"code":503,"message":"Node is syncing. This endpoint is unavailable. Try again later."}`, []error{ErrSyncing}},
	{503, `{"code":503,"message":"syncing in progress"}`, []error{ErrSyncing}},
	{403, `{"code":403,"message":"Chain is disabled. This endpoint is unavailable."}`, []error{ErrChainDisabled}},
	{403, `{"code":403,"message":"Chain disabled. This endpoint is unavailable."}`, []error{ErrChainDisabled}},
	{400, `{"code":400,"message":"invalid path params","reasons":[{"field":"batch_id","error":"want len:32"}]}`, nil},
	{400, `{"code":400,"message":"invalid path params","reasons":[{"field":"depth","error":"want min:17"}]}`, nil},
	{404, `{"code":404,"message":"issuer does not exist"}`, []error{ErrNotFound}},
	{404, `{"code":404,"message":"batch with id not found"}`, []error{ErrNotFound}},
	{404, `{"code":404,"message":"Not Found"}`, []error{ErrNotFound}},
	{400, `{"code":400,"message":"batch not usable"}`, []error{ErrNotUsable}},
	{422, `{"code":422,"message":"batch not usable yet or does not exist"}`, []error{ErrNotUsable}},
	{400, `{"code":400,"message":"out of funds"}`, []error{ErrOutOfFunds}},
	{402, `{"code":402,"message":"out of funds"}`, []error{ErrOutOfFunds}},
	{400, `{"code":400,"message":"insufficient amount for 24h minimum validity"}`, []error{ErrInsufficientAmount}},
	{429, `{"code":429,"message":"simultaneous on-chain operations not supported"}`, []error{ErrBusy}},
	{500, `{"code":500,"message":"cannot create batch"}`, nil},
	{500, `{"code":500,"message":"cannot topup batch"}`, nil},
	{400, `{"code":400,"message":"invalid depth"}`, nil},
	{402, `{"code":402,"message":"batch is overissued"}`, nil},
}

var allSentinels = []error{ErrOutOfFunds, ErrBusy, ErrSyncing, ErrNotUsable, ErrNotFound,
	ErrInsufficientAmount, ErrChainDisabled, ErrUnreachable}

// everyCall runs each client call once.
var everyCall = map[string]func(*Client) error{
	"Stamps": func(c *Client) error { _, err := c.Stamps(context.Background()); return err },
	"Stamp":  func(c *Client) error { _, err := c.Stamp(context.Background(), testBatchID); return err },
	"BuyStamp": func(c *Client) error {
		_, err := c.BuyStamp(context.Background(), big.NewInt(100000000), 17, "l", true)
		return err
	},
	"TopUp":      func(c *Client) error { return c.TopUp(context.Background(), testBatchID, big.NewInt(1000)) },
	"Dilute":     func(c *Client) error { return c.Dilute(context.Background(), testBatchID, 18) },
	"ChainState": func(c *Client) error { _, err := c.ChainState(context.Background()); return err },
	"Health":     func(c *Client) error { _, err := c.Health(context.Background()); return err },
}

func TestEveryDocumentedFailureForEveryCall(t *testing.T) {
	var current atomic.Pointer[beeFailure]
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		f := current.Load()
		writeJSON(w, f.status, f.body)
	})
	for name, call := range everyCall {
		for _, f := range documentedFailures {
			t.Run(fmt.Sprintf("%s/%d %s", name, f.status, f.body), func(t *testing.T) {
				current.Store(&f)
				err := call(c)
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, f.status, apiErr.Status)
				require.Equal(t, f.status, apiErr.Code)
				require.NotEmpty(t, apiErr.Message)
				require.Contains(t, f.body, apiErr.Message)
				require.NotEmpty(t, apiErr.Method)
				require.True(t, strings.HasPrefix(apiErr.Path, "/"), apiErr.Path)
				require.Contains(t, err.Error(), fmt.Sprintf("bee %s %s: %d %s", apiErr.Method, apiErr.Path, f.status, apiErr.Message))
				for _, sentinel := range allSentinels {
					want := false
					for _, w := range f.want {
						want = want || w == sentinel
					}
					require.Equal(t, want, errors.Is(err, sentinel), "errors.Is(%v, %v)", err, sentinel)
				}
				require.False(t, IsTimeout(err), "an answer is never an unknown outcome")
			})
		}
	}
}

func TestErrorReasonsAreKept(t *testing.T) {
	c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, `{"code":400,"message":"invalid path params","reasons":[{"field":"depth","error":"want min:17"}]}`)
	})
	_, err := c.BuyStamp(context.Background(), big.NewInt(1000), 16, "x", true)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, []Reason{{Field: "depth", Error: "want min:17"}}, apiErr.Reasons)
	require.Equal(t, "/stamps/1000/16?label=x", apiErr.Path)
	require.EqualError(t, err, "bee POST /stamps/1000/16?label=x: 400 invalid path params (depth: want min:17)")
}

func TestErrorsSayWhatToDo(t *testing.T) {
	for _, f := range documentedFailures {
		for _, sentinel := range f.want {
			if sentinel == ErrNotFound || sentinel == ErrNotUsable {
				continue // pending states the pool handles itself
			}
			err := newAPIError("POST", "/stamps/1/17", f.status, []byte(f.body))
			require.Regexp(t, `; \S.*`, err.Error(), "a hint follows the message: %s", err)
		}
	}
	require.Contains(t, newAPIError("POST", "/stamps/1/17", 402, []byte(`{"code":402,"message":"out of funds"}`)).Error(), "fund the Bee node's wallet")
}

func TestNonJSONErrorBodies(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   string
	}{
		{502, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>  nginx </body></html>\n",
			"<html> <head><title>502 Bad Gateway</title></head> <body> nginx </body></html>"},
		{504, "", "Gateway Timeout"},
		{500, `{"error":"not bee"}`, `{"error":"not bee"}`},
		{500, strings.Repeat("x", 100000), strings.Repeat("x", 200) + "..."},
	}
	for _, tc := range cases {
		c, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
		})
		_, err := c.ChainState(context.Background())
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, tc.status, apiErr.Status)
		require.Equal(t, tc.want, apiErr.Message)
		require.False(t, errors.Is(err, ErrUnreachable))
	}
}

// What anonymous readers see of a failed call never names the node's address.
func TestPublicDescriptionHidesTheNode(t *testing.T) {
	call := &CallError{Method: "GET", Path: "/stamps", BaseURL: "http://10.1.2.3:1633",
		Err: errors.New("dial tcp 10.1.2.3:1633: connect: connection refused")}
	wrapped := fmt.Errorf("sync: %w", call)
	require.Equal(t, "bee GET /stamps: no answer (connection failed or timed out; the gateway's log has the details)",
		PublicDescription(wrapped))
	require.Contains(t, call.Error(), "10.1.2.3", "the log keeps the details")

	api := &APIError{Status: 503, Message: "syncing in progress", Method: "GET", Path: "/stamps"}
	require.Equal(t, api.Error(), PublicDescription(fmt.Errorf("sync: %w", api)))
	require.NotContains(t, PublicDescription(errors.New("dial tcp 10.1.2.3:1633")), "10.1.2.3")
}
