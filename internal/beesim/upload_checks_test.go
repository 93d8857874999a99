package beesim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// An unknown Swarm-Tag is refused before the batch is looked at, as Bee does: even with a
// batch the node does not know, the answer is about the tag. An ACT history the node does
// not have is refused the same way. Neither names the batch.
func TestTagAndACTChecksComeBeforeTheBatch(t *testing.T) {
	sim, url := newServer(t, Options{})
	usable := sim.CreateBatch(17, amount(sim, 1_000_000), "ok", true, true)
	foreign := strings.Repeat("ab", 32)

	for _, id := range []string{usable, foreign} {
		status, _, body := do(t, http.MethodPost, url+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", id, "Swarm-Tag", "999999")
		require.Equal(t, http.StatusNotFound, status)
		require.Contains(t, body, `"tag not found"`)

		status, _, body = do(t, http.MethodPost, url+"/bzz?name=a.txt", []byte("x"), "Swarm-Postage-Batch-Id", id,
			"Swarm-Act", "true", "Swarm-Act-History-Address", strings.Repeat("cd", 32))
		require.Equal(t, http.StatusNotFound, status)
		require.Contains(t, body, `"act or history entry not found"`)
	}
	status, _, body := do(t, http.MethodPost, url+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", usable, "Swarm-Tag", "x1")
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Zero(t, sim.Stats().Uploads)

	// A tag the node issued is accepted.
	status, hdr, body := do(t, http.MethodPost, url+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", usable)
	require.Equal(t, http.StatusCreated, status, body)
	status, _, body = do(t, http.MethodPost, url+"/bytes", []byte("y"), "Swarm-Postage-Batch-Id", usable, "Swarm-Tag", hdr.Get("Swarm-Tag"))
	require.Equal(t, http.StatusCreated, status, body)
}

func TestTopUpFaults(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(17, amount(sim, 1_000_000), "ok", true, true)
	for kind, want := range map[string]int{
		TopUpNotImplemented: http.StatusNotImplemented, TopUpOutOfFunds: http.StatusPaymentRequired,
		TopUpBusy: http.StatusTooManyRequests, TopUpError: http.StatusInternalServerError,
	} {
		sim.SetTopUpFailure(kind)
		status, _, body := do(t, http.MethodPatch, url+"/stamps/topup/"+id+"/1000", nil)
		require.Equal(t, want, status, "%s: %s", kind, body)
	}
	require.Zero(t, sim.Stats().TopUps)
	sim.SetTopUpFailure("")
	status, _, body := do(t, http.MethodPatch, url+"/stamps/topup/"+id+"/1000", nil)
	require.Equal(t, http.StatusAccepted, status, body)
	require.EqualValues(t, 1, sim.Stats().TopUps)
}
