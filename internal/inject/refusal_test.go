package inject

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// A ledger held by another gateway is a short wait, not an outage: an injected upload gets
// 503 with a Retry-After of seconds.
func TestLedgerBusyAnswers503WithShortRetryAfter(t *testing.T) {
	in := &Injector{Logger: zap.NewNop(), RetryAfter: func() time.Duration { return time.Hour }}
	rec := httptest.NewRecorder()
	require.NoError(t, in.writeNoBatch(rec, fmt.Errorf("acquire depth 17: %w", pool.ErrLedgerBusy)))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "5", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), `"code":503`)
}

// Without a pool's own estimate the answer says when some node will have a batch.
func TestNoBatchRetryAfterFollowsTheEstimate(t *testing.T) {
	in := &Injector{Logger: zap.NewNop(), RetryAfter: func() time.Duration { return 1500 * time.Millisecond }}
	rec := httptest.NewRecorder()
	require.NoError(t, in.writeNoBatch(rec, fmt.Errorf("no batch")))
	require.Equal(t, "2", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), "retry after 2 seconds")
}
