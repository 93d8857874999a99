package beesim

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// Addressed synthetic content downloads as bytes whose chunk tree is its reference.
func TestAddressedSyntheticHashesToItsReference(t *testing.T) {
	sim := New(Options{})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	ref := sim.AddAddressedSynthetic(300_001, 5)
	resp, err := http.Get(srv.URL + "/bytes/" + ref)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Len(t, body, 300_001)
	require.Equal(t, `"`+ref+`"`, resp.Header.Get("ETag"))
	w := swarm.NewTreeWriter(swarm.LevelNone, nil)
	_, _ = w.Write(body)
	root, err := w.Sum()
	require.NoError(t, err)
	require.Equal(t, ref, hex.EncodeToString(root[:]))
}
