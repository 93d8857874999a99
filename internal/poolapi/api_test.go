package poolapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// fakePool hands out batches of the depths it holds, largest reserve first.
type fakePool struct {
	reserve map[int][]string // depth -> batch ids
	checked int
}

func (f *fakePool) Status() pool.Status {
	st := pool.Status{ReserveConfig: map[int]int{}, CurrentLevels: map[int]int{}, Active: map[int]pool.ActiveStatus{}}
	for d, ids := range f.reserve {
		st.ReserveConfig[d] = 1
		st.CurrentLevels[d] = len(ids)
	}
	st.Active[20] = pool.ActiveStatus{BatchID: "active20", Depth: 20, UtilizationRatio: 0.25}
	return st
}

func (f *fakePool) Acquire(_ context.Context, depth int, fallback bool) (pool.Batch, bool, error) {
	for d := depth; d <= depth || fallback && d <= pool.MaxDepth; d++ {
		if _, kept := f.reserve[d]; !kept && d == depth {
			return pool.Batch{}, false, pool.ErrNotConfigured
		}
		if ids := f.reserve[d]; len(ids) > 0 {
			f.reserve[d] = ids[1:]
			return pool.Batch{ID: ids[0], Depth: d}, d != depth, nil
		}
	}
	return pool.Batch{}, false, &pool.EmptyError{Depth: depth, RetryAfter: 1500 * time.Millisecond}
}

func (f *fakePool) Available() []pool.Batch      { return nil }
func (f *fakePool) TriggerCheck() time.Time      { f.checked++; return time.Unix(0, 0) }
func (f *fakePool) RetryAfter(int) time.Duration { return 7 * time.Second }
func (f *fakePool) HasUsable() bool              { return true }

func serve(a *API, method, endpoint, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/api/v1"+endpoint, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	if served, _ := a.Serve(w, r, endpoint); !served {
		_ = a.NotFound(w, endpoint)
	}
	return w
}

func newAPI(nodes ...Node) *API {
	return &API{Prefix: "/api/v1", AdminToken: "tok", Nodes: nodes, MultiNode: len(nodes) > 1, Fallback: true,
		Sizes: SizesText(map[int]int{17: 1, 20: 1}), Logger: zap.NewNop()}
}

func always(time.Time) bool { return true }

func TestRoutingMethodsAndToken(t *testing.T) {
	p := &fakePool{reserve: map[int][]string{17: {"a"}}}
	a := newAPI(Node{Pool: p, Usable: always})
	w := serve(a, http.MethodGet, "/nope", "", "")
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Contains(t, w.Body.String(), "/api/v1/pool/status")

	w = serve(a, http.MethodGet, "/pool/acquire", "tok", "")
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, "POST", w.Header().Get("Allow"))
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))

	w = serve(a, http.MethodPost, "/pool/acquire", "wrong", "")
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, `Bearer realm="caddy-bee"`, w.Header().Get("WWW-Authenticate"))
	require.Equal(t, []string{"a"}, p.reserve[17], "a refused acquire takes nothing")

	w = serve(newAPI(), http.MethodPost, "/pool/check", "tok", "")
	require.Equal(t, http.StatusServiceUnavailable, w.Code, "no pool: swarm_connect's disabled answer")
	require.Equal(t, http.StatusNotFound, serve(a, http.MethodGet, "/coalescer", "", "").Code, "coalescing off")
}

func TestAcquireAnswers(t *testing.T) {
	p := &fakePool{reserve: map[int][]string{17: {}, 20: {"m"}}}
	a := newAPI(Node{Pool: p, Usable: always})
	var got AcquireResponse
	w := serve(a, http.MethodPost, "/pool/acquire", "tok", `{"size":"small"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	require.Equal(t, AcquireResponse{Success: true, BatchID: "m", Depth: 20, SizeName: "medium", FallbackUsed: true,
		Message: "no depth-17 batch was in reserve; issued a larger one (depth 20)"}, got)

	w = serve(a, http.MethodPost, "/pool/acquire", "tok", `{"depth":17}`)
	require.Equal(t, http.StatusConflict, w.Code, "nothing left: retry later")
	require.Equal(t, "2", w.Header().Get("Retry-After"))

	w = serve(a, http.MethodPost, "/pool/acquire", "tok", `{"depth":24}`)
	require.Equal(t, http.StatusUnprocessableEntity, w.Code)
	require.Contains(t, w.Body.String(), `depth 24 is not kept by this pool: ask for one of \"small\" or depth 17, \"medium\" or depth 20`)

	for _, body := range []string{`{"size":"small","depth":17}`, `{"size":"huge"}`, `{"colour":1}`} {
		require.Equal(t, http.StatusUnprocessableEntity, serve(a, http.MethodPost, "/pool/acquire", "tok", body).Code, body)
	}
}

// With several nodes an acquire takes from a usable node before an unusable one, and from
// the one with the most batches of the depth in reserve.
func TestAcquirePrefersUsableFullestNode(t *testing.T) {
	down := &fakePool{reserve: map[int][]string{17: {"d1", "d2", "d3"}}}
	thin := &fakePool{reserve: map[int][]string{17: {"t1"}}}
	full := &fakePool{reserve: map[int][]string{17: {"f1", "f2"}}}
	a := newAPI(Node{Label: "down", Pool: down, Usable: func(time.Time) bool { return false }},
		Node{Label: "thin", Pool: thin, Usable: always}, Node{Label: "full", Pool: full, Usable: always})
	var got AcquireResponse
	w := serve(a, http.MethodPost, "/pool/acquire", "tok", "")
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	require.Equal(t, "full", got.Node)
	require.Equal(t, "f1", got.BatchID)
}

func TestStatusShowsBatchIDsOnlyWithToken(t *testing.T) {
	a := newAPI(Node{Pool: &fakePool{reserve: map[int][]string{17: {"a"}}}, Usable: always})
	var st Status
	require.NoError(t, json.Unmarshal(serve(a, http.MethodGet, "/pool/status", "", "").Body.Bytes(), &st))
	require.True(t, st.Enabled)
	require.Equal(t, 1, st.CurrentLevels["17"])
	require.Empty(t, st.Active["20"].BatchID)
	require.NoError(t, json.Unmarshal(serve(a, http.MethodGet, "/pool/status", "tok", "").Body.Bytes(), &st))
	require.Equal(t, "active20", st.Active["20"].BatchID)
}
