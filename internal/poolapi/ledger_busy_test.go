package poolapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// A ledger held by another gateway (or a dead one, until taken over) is a short wait, not an
// outage: an acquire gets 503 with a Retry-After of seconds.
func TestLedgerBusyAnswers503WithShortRetryAfter(t *testing.T) {
	a := &API{Logger: zap.NewNop()}
	busy := fmt.Errorf("acquire depth 17: %w", pool.ErrLedgerBusy)
	rec := httptest.NewRecorder()
	require.NoError(t, a.writeAcquireError(rec, 17, busy))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "5", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), "busy")
}
