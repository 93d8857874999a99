package beeerror

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteAnswersInBeesShape(t *testing.T) {
	w := httptest.NewRecorder()
	require.NoError(t, Write(w, http.StatusForbidden, "Forbidden: no"))
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	require.Equal(t, "{\"code\":403,\"message\":\"Forbidden: no\"}\n", w.Body.String())
	require.Equal(t, "Forbidden: no", Message(w.Body.Bytes()))
	require.Empty(t, Message([]byte("not json")))

	w = httptest.NewRecorder()
	require.NoError(t, WriteDetail(w, http.StatusNotFound, "gone"))
	require.Equal(t, "{\"detail\":\"gone\"}\n", w.Body.String())
}

func TestRetryAfterSecondsRoundsUpToAtLeastOne(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", -time.Second: "1", time.Millisecond: "1",
		time.Second: "1", 1500 * time.Millisecond: "2", time.Hour: "3600"} {
		require.Equal(t, want, RetryAfterSeconds(d), d)
	}
}
