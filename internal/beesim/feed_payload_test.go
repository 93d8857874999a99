package beesim

import (
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// GET /feeds/{owner}/{topic} answers the latest update's payload, without the span of the
// wrapped chunk that POST /soc carried (BEE_API.md, Downloads).
func TestFeedAnswersThePayload(t *testing.T) {
	sim, url := newServer(t, Options{})
	id := sim.CreateBatch(20, amount(sim, 1_000_000), "feed", true, true)
	owner := strings.Repeat("aa", 20)
	topic := make([]byte, 32)
	payload := []byte("feed update")
	body := binary.LittleEndian.AppendUint64(nil, uint64(len(payload)))
	body = append(body, payload...)
	status, _, resp := do(t, http.MethodPost, url+"/soc/"+owner+"/"+feedUpdateID(topic, 0)+"?sig="+strings.Repeat("11", 65),
		body, "Swarm-Postage-Batch-Id", id)
	require.Equal(t, 201, status, resp)
	status, h, got := do(t, http.MethodGet, url+"/feeds/"+owner+"/"+hex.EncodeToString(topic), nil)
	require.Equal(t, 200, status)
	require.Equal(t, string(payload), got)
	require.Equal(t, "0000000000000000", h.Get("Swarm-Feed-Index"))
	require.Equal(t, "0000000000000001", h.Get("Swarm-Feed-Index-Next"))
}
