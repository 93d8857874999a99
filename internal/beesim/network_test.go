package beesim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func newNetworkServers(t *testing.T, n int) ([]*Sim, []string) {
	t.Helper()
	nodes, err := NewNetwork(n, Options{BlockTime: blockTime})
	require.NoError(t, err)
	urls := make([]string, n)
	for i, node := range nodes {
		srv := httptest.NewServer(node.Handler())
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	return nodes, urls
}

// Content is the network's; batches, wallets, stats and faults are each node's own.
func TestNetworkSharesContentNotBatches(t *testing.T) {
	nodes, urls := newNetworkServers(t, 3)
	batch0 := nodes[0].CreateBatch(17, amount(nodes[0], 1_000_000), "n0", true, true)

	status, _, body := do(t, http.MethodPost, urls[0]+"/bytes", []byte("hello network"), "Swarm-Postage-Batch-Id", batch0)
	require.Equal(t, http.StatusCreated, status, body)
	var up struct{ Reference string }
	require.NoError(t, json.Unmarshal([]byte(body), &up))
	for i, url := range urls {
		status, _, got := do(t, http.MethodGet, url+"/bytes/"+up.Reference, nil)
		require.Equal(t, http.StatusOK, status, "node %d", i)
		require.Equal(t, "hello network", got, "node %d", i)
	}

	// Node 1 does not own node 0's batch: Bee's answer for a batch it does not know.
	status, _, body = do(t, http.MethodPost, urls[1]+"/bytes", []byte("x"), "Swarm-Postage-Batch-Id", batch0)
	require.Equal(t, http.StatusNotFound, status)
	require.JSONEq(t, `{"code":404,"message":"batch with id not found"}`, body)
	require.Len(t, nodes[0].Batches(), 1)
	require.Empty(t, nodes[1].Batches())

	// A purchase on node 2 spends node 2's wallet only.
	_, _, before0 := do(t, http.MethodGet, urls[0]+"/wallet", nil)
	status, _, body = do(t, http.MethodPost, urls[2]+"/stamps/"+amount(nodes[2], 100_000).String()+"/17", nil)
	require.Equal(t, http.StatusCreated, status, body)
	_, _, after0 := do(t, http.MethodGet, urls[0]+"/wallet", nil)
	_, _, wallet2 := do(t, http.MethodGet, urls[2]+"/wallet", nil)
	require.Equal(t, before0, after0)
	require.NotEqual(t, after0, wallet2)

	// Faults and stats stay on their node.
	nodes[1].SetClassFault(ClassDownload, ClassFault{Status: http.StatusInternalServerError})
	status, _, _ = do(t, http.MethodGet, urls[1]+"/bytes/"+up.Reference, nil)
	require.Equal(t, http.StatusInternalServerError, status)
	status, _, _ = do(t, http.MethodGet, urls[2]+"/bytes/"+up.Reference, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, int64(1), nodes[0].Stats().Requests["POST upload"])
	require.Zero(t, nodes[2].Stats().Requests["POST upload"])
}

func TestNetworkSize(t *testing.T) {
	_, err := NewNetwork(0, Options{})
	require.Error(t, err)
	_, err = NewNetwork(2, Options{BeeVersion: "1.0.0"})
	require.Error(t, err)
}
