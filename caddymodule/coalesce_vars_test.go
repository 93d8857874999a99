package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
)

// A leader whose client left returns at once while its flight runs on for a follower; the
// server then reads that request's variables for the access log while reverse_proxy, on the
// flight's goroutine, sets variables of its own (SetVar in its prepareRequest). The flight
// must write only its own copy: a shared map is a fatal concurrent map access in Go, and
// `go test -race` reports it.
func TestFlightSetsOnlyItsOwnRequestVariables(t *testing.T) {
	g := coalesce.New((&Handler{}).coalesceOptions())
	started, release := make(chan struct{}, 2), make(chan struct{})
	seen := make(chan any, 2)
	upstream := coalesce.Upstream(func(w http.ResponseWriter, r *http.Request) error {
		started <- struct{}{}
		seen <- caddyhttp.GetVar(r.Context(), nodeVar)
		<-release
		caddyhttp.SetVar(r.Context(), "reverse_proxy.proxy_protocol_info", "the flight's")
		w.WriteHeader(http.StatusOK)
		return nil
	})
	url := "http://gw/bytes/" + strings.Repeat("cd", 32)
	request := func(ctx context.Context) (*http.Request, map[string]any) {
		vars := map[string]any{nodeVar: "127.0.0.1:1633"}
		return httptest.NewRequestWithContext(context.WithValue(ctx, caddyhttp.VarsCtxKey, vars), http.MethodGet, url, nil), vars
	}
	serve := func(r *http.Request) <-chan error {
		done := make(chan error, 1)
		go func() { done <- g.ServeHTTP(httptest.NewRecorder(), r, upstream) }()
		return done
	}

	ctx, leave := context.WithCancel(context.Background())
	leaderReq, leaderVars := request(ctx)
	leader := serve(leaderReq)
	<-started
	require.Equal(t, "127.0.0.1:1633", <-seen, "the flight starts with the leader's variables")
	followerReq, _ := request(context.Background())
	follower := serve(followerReq)
	require.Eventually(t, func() bool { return g.Stats().MaxConcurrentWaiters == 2 }, 10*time.Second, time.Millisecond)

	leave()
	require.Error(t, <-leader, "the leader's request ends with its client")
	close(release) // reverse_proxy sets its variable while the server logs the leader's request
	for range 1000 {
		_ = caddyhttp.GetVar(leaderReq.Context(), caddyhttp.LogSkipVar)
	}
	require.NoError(t, <-follower)
	require.Empty(t, started, "one upstream request")
	require.NotContains(t, leaderVars, "reverse_proxy.proxy_protocol_info")
}
