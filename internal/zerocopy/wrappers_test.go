package zerocopy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// fileReadFrom records whether ReadFrom was handed a file (what net's sendfile needs).
type fileReadFrom struct {
	*httptest.ResponseRecorder
	gotFile bool
}

func (w *fileReadFrom) ReadFrom(src io.Reader) (int64, error) {
	inner := src
	if lr, ok := src.(*io.LimitedReader); ok {
		inner = lr.R
	}
	_, w.gotFile = inner.(*os.File)
	return io.Copy(w.ResponseRecorder, src)
}

// Each of the gateway's own writers passes ReadFrom on, so spilled (and cached) bytes keep
// the kernel's zero-copy path down to net/http.
func TestWrappersPassReadFromOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "body")
	require.NoError(t, os.WriteFile(path, []byte("0123456789"), 0o600))
	policy, err := cors.New([]string{"*"}, cors.BeeRequestHeaders, cors.BeeResponseHeaders)
	require.NoError(t, err)
	for name, wrap := range map[string]func(http.ResponseWriter) http.ResponseWriter{
		"cors": func(w http.ResponseWriter) http.ResponseWriter {
			r := httptest.NewRequest(http.MethodGet, "/bytes/x", nil)
			r.Header.Set("Origin", "https://app.example")
			cw, done, err := policy.Wrap(w, r, nil, routepolicy.Gateway)
			require.NoError(t, err)
			require.False(t, done)
			return cw
		},
		"site": func(w http.ResponseWriter) http.ResponseWriter {
			return subdomain.NewSiteResponse(w, "/bzz/x")
		},
	} {
		t.Run(name, func(t *testing.T) {
			inner := &fileReadFrom{ResponseRecorder: httptest.NewRecorder()}
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			n, err := coalesce.CopyFileRange(wrap(inner), f, 2, 5)
			require.NoError(t, err)
			require.EqualValues(t, 5, n)
			require.Equal(t, "23456", inner.Body.String())
			require.True(t, inner.gotFile, "ReadFrom reached the inner writer with the file")
			if name == "cors" {
				require.Equal(t, "*", inner.Header().Get("Access-Control-Allow-Origin"), "CORS headers set before the body")
			}
		})
	}
}
