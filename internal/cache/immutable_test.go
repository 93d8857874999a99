package cache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestServeImmutableWithoutACacheStillMarksAnswers(t *testing.T) {
	ref := strings.Repeat("ab", 32)
	calls := 0
	next := HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		calls++
		w.Header().Set("ETag", `"`+ref+`"`)
		w.WriteHeader(http.StatusOK)
		return nil
	})

	w := httptest.NewRecorder()
	served, wrapped := ServeImmutable(nil, w, httptest.NewRequest(http.MethodGet, "/bytes/"+ref, nil), next, zap.NewNop())
	require.False(t, served)
	require.NoError(t, wrapped.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/bytes/"+ref, nil)))
	require.Equal(t, CacheControl, w.Header().Get("Cache-Control"), "an immutable answer is marked")

	w = httptest.NewRecorder()
	served, wrapped = ServeImmutable(nil, w, httptest.NewRequest(http.MethodGet, "/bzz/name.eth/", nil), next, zap.NewNop())
	require.False(t, served)
	require.NoError(t, wrapped.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/bzz/name.eth/", nil)))
	require.Empty(t, w.Header().Get("Cache-Control"), "not content-addressed: next as it is")
	require.Equal(t, 2, calls)
}

func TestCacheAPIAnswersWithoutACache(t *testing.T) {
	require.Equal(t, map[string]bool{"enabled": false}, StatsAnswer(nil))
	ref := strings.Repeat("AB", 32)
	answer, removed, err := PurgeReference(nil, ref)
	require.NoError(t, err)
	require.Zero(t, removed)
	require.Equal(t, map[string]any{"ref": strings.ToLower(ref), "removed": 0}, answer)
	_, _, err = PurgeReference(nil, "xyz")
	require.ErrorContains(t, err, "want a hex reference")
}

func TestCheckSizes(t *testing.T) {
	require.NoError(t, CheckSizes(0, 0, ""))
	require.NoError(t, CheckSizes(1<<20, 1<<30, "/var/cache/bee"))
	require.ErrorContains(t, CheckSizes(-1, 0, ""), "must not be negative")
	require.ErrorContains(t, CheckSizes(0, 1<<30, ""), "needs a directory")
	require.ErrorContains(t, CheckSizes(0, 0, "/x"), "without a disk size")
}
