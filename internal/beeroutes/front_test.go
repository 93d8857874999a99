package beeroutes

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// newFront records which part of the front each request reached.
func newFront(t *testing.T, reached *[]string) *Front {
	t.Helper()
	bee, api, err := (&cors.Config{APIOrigins: []string{"https://admin.example"}}).Policies()
	require.NoError(t, err)
	hosts, err := (&subdomain.Config{Bases: []string{"bzz.example.com"}}).Hosts()
	require.NoError(t, err)
	return &Front{
		Mode: routepolicy.Gateway, Hosts: hosts, BeeCORS: bee, APICORS: api,
		Routes: &Routes{Mode: routepolicy.Gateway, Logger: zap.NewNop()},
		APIEndpoint: func(path string) (string, bool) {
			rest, ok := strings.CutPrefix(path, "/api/v1")
			return rest, ok
		},
		API: func(w http.ResponseWriter, r *http.Request, endpoint string) error {
			*reached = append(*reached, "api "+endpoint)
			w.WriteHeader(http.StatusOK)
			return nil
		},
		CoalescerHealth: func(w http.ResponseWriter, r *http.Request) error {
			*reached = append(*reached, "coalescer health")
			w.WriteHeader(http.StatusOK)
			return nil
		},
	}
}

func TestFrontSendsEachRequestToItsPart(t *testing.T) {
	var reached []string
	f := newFront(t, &reached)
	toBee := handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		reached = append(reached, "bee "+r.URL.Path+" origin="+r.Header.Get("Origin"))
		w.WriteHeader(http.StatusOK)
		return nil
	})
	ref := strings.Repeat("ab", 32)
	cid, err := subdomain.CID(ref)
	require.NoError(t, err)

	for _, tc := range []struct{ method, url, want string }{
		{http.MethodGet, "http://gw/api/v1/pool/status", "api /pool/status"},
		{http.MethodGet, "http://gw/health/coalescer", "coalescer health"},
		{http.MethodGet, "http://gw//health/./x/../coalescer", "coalescer health"},
		{http.MethodGet, "http://gw/bytes/" + ref, "bee /bytes/" + ref + " origin="},
		{http.MethodGet, "http://" + cid + ".bzz.example.com/index.html", "bee /bzz/" + ref + "/index.html origin="},
	} {
		reached = nil
		r := httptest.NewRequest(tc.method, tc.url, nil)
		r.Header.Set("Origin", "https://app.example")
		w := httptest.NewRecorder()
		require.NoError(t, f.Serve(w, r, toBee), tc.url)
		require.Equal(t, []string{tc.want}, reached, tc.url)
		if !strings.Contains(tc.url, "/api/") {
			require.Equal(t, "*", w.Header().Get("Access-Control-Allow-Origin"), "Bee's routes answer every origin by default")
		}
	}

	// A site's origin serves GET and HEAD only; the API answers its own origins' preflights.
	reached = nil
	w := httptest.NewRecorder()
	require.NoError(t, f.Serve(w, httptest.NewRequest(http.MethodPost, "http://"+cid+".bzz.example.com/", nil), toBee))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	preflight := httptest.NewRequest(http.MethodOptions, "http://gw/api/v1/pool/acquire", nil)
	preflight.Header.Set("Origin", "https://admin.example")
	preflight.Header.Set("Access-Control-Request-Method", http.MethodPost)
	w = httptest.NewRecorder()
	require.NoError(t, f.Serve(w, preflight, toBee))
	require.Equal(t, "https://admin.example", w.Header().Get("Access-Control-Allow-Origin"))
	require.Empty(t, reached, "refusals and preflights are answered in front")
}

// A leader whose client left returns at once while the flight runs on for a follower. When
// that upstream then fails, the leader's header map is no longer the flight's to touch: the
// server writes its own answer (a 499) on it. Each request's error answer gets the CORS
// headers on its own goroutine, the follower's too.
func TestFailedFlightLeavesTheGoneLeadersHeaderAlone(t *testing.T) {
	var reached []string
	f := newFront(t, &reached)
	g := coalesce.New(coalesce.Options{TempDir: t.TempDir()})
	f.Routes.Coalescer = g
	f.Routes.ClientGone = func(err error) error { return err }
	started, release := make(chan struct{}, 2), make(chan struct{})
	down := errors.New("bee is down")
	upstream := handlerFunc(func(http.ResponseWriter, *http.Request) error {
		started <- struct{}{}
		<-release
		return down
	})
	url := "http://gw/bytes/" + strings.Repeat("ab", 32)
	request := func(ctx context.Context) *http.Request {
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		r.Header.Set("Origin", "https://app.example")
		return r
	}
	serve := func(w http.ResponseWriter, r *http.Request) <-chan error {
		done := make(chan error, 1)
		go func() { done <- f.Serve(w, r, upstream) }()
		return done
	}

	ctx, leave := context.WithCancel(context.Background())
	leaderW := httptest.NewRecorder()
	leader := serve(leaderW, request(ctx))
	<-started
	followerW := httptest.NewRecorder()
	follower := serve(followerW, request(context.Background()))
	require.Eventually(t, func() bool { return g.Stats().MaxConcurrentWaiters == 2 }, 10*time.Second, time.Millisecond)

	leave()
	require.ErrorIs(t, <-leader, context.Canceled)
	require.Equal(t, "*", leaderW.Header().Get("Access-Control-Allow-Origin"))
	close(release) // the upstream fails while the server writes the leader's answer
	for i := range 1000 {
		leaderW.Header().Set("X-Answer", strconv.Itoa(i))
	}
	require.ErrorIs(t, <-follower, down)
	require.Empty(t, started, "one upstream request")
	require.Equal(t, "*", followerW.Header().Get("Access-Control-Allow-Origin"), "the follower's error answer is readable by a browser")
}
