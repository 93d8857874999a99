package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/beesim"
	"github.com/swarmgate/caddy-bee/internal/poolapi"
)

// simNetwork is n simulated nodes of one network, each behind its own test server.
type simNetwork struct {
	nodes   []*beesim.Sim
	servers []*httptest.Server
}

func startSimNetwork(t *testing.T, n int) *simNetwork {
	t.Helper()
	nodes, err := beesim.NewNetwork(n, beesim.Options{BlockTime: testBlockTime})
	require.NoError(t, err)
	net := &simNetwork{nodes: nodes}
	for _, node := range nodes {
		srv := httptest.NewServer(node.Handler())
		t.Cleanup(srv.Close)
		net.servers = append(net.servers, srv)
	}
	return net
}

// nodesSite is a gateway in front of every node of net with a fast pool per node; extra goes
// into the bee block (node blocks, overrides).
func nodesSite(net *simNetwork, poolLines, extra string) string {
	var urls []string
	for _, srv := range net.servers {
		urls = append(urls, srv.URL)
	}
	return fmt.Sprintf(`http://{addr} {
	bee %s {
		pool {
			block_time %s
			purchase_spacing 1ms
			check_interval 2s
			%s
		}
		admin_token %s
		%s
	}
}`, strings.Join(urls, " "), testBlockTime, poolLines, adminToken, extra)
}

func getNodesStatus(t *testing.T, gw *gateway) (poolapi.NodesStatus, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/v1/pool/status", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	var st poolapi.NodesStatus
	require.NoError(t, json.Unmarshal(raw, &st), "%s", raw)
	return st, string(raw)
}

// waitNodesReserve waits until each labelled node holds at least one depth-17 reserve batch.
func waitNodesReserve(t *testing.T, gw *gateway, labels ...string) poolapi.NodesStatus {
	t.Helper()
	var st poolapi.NodesStatus
	require.Eventually(t, func() bool {
		st, _ = getNodesStatus(t, gw)
		for _, l := range labels {
			if st.Nodes[l].CurrentLevels["17"] < 1 {
				return false
			}
		}
		return true
	}, 60*time.Second, 50*time.Millisecond, "every node's pool fills: %+v", st)
	return st
}

// One line with several nodes: a pool per node, uploads spread and stamped on the node that
// owns the batch, content retrievable through the gateway whichever node took it, an issued
// batch routed to its node, and a node that goes down ridden out.
func TestSeveralNodesPoolPerNodeAndRouting(t *testing.T) {
	net := startSimNetwork(t, 3)
	gw := startGateway(t, nodesSite(net, "reserve small 1", fmt.Sprintf("node %s {\n label west\n }", net.servers[1].URL)))
	st := waitNodesReserve(t, gw, "node1", "west", "node3")

	_, raw := getNodesStatus(t, gw)
	require.NotContains(t, raw, "127.0.0.1", "node URLs never appear in API answers")
	require.True(t, st.Enabled)
	require.Equal(t, 3, st.ReserveConfig["17"], "totals add the nodes' targets")
	require.Equal(t, st.Nodes["node1"].CurrentLevels["17"]+st.Nodes["west"].CurrentLevels["17"]+st.Nodes["node3"].CurrentLevels["17"],
		st.CurrentLevels["17"])
	for i, node := range net.nodes {
		require.Len(t, node.Batches(), 1, "node %d bought its own batch", i+1)
	}

	// Injected uploads spread over the nodes; each is stamped on the node that owns its batch
	// (another node would answer 404), and downloads back through the gateway.
	for i := range 9 {
		data := randomBytes(4096 + i)
		resp, body := post(t, gw.URL+"/bytes", data, nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		requireDownloadsBack(t, gw, body, data)
	}
	for i, node := range net.nodes {
		require.Equal(t, int64(3), node.Stats().Uploads, "node %d took a third of the uploads", i+1)
	}

	// An issued batch says its node, and an upload with it through the gateway reaches it.
	waitNodesReserve(t, gw, "node1", "west", "node3") // the replacements of the promoted batches
	resp, body := acquire(t, gw, adminToken, `{"size":"small"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var acq poolapi.AcquireResponse
	require.NoError(t, json.Unmarshal(body, &acq))
	owner := map[string]int{"node1": 0, "west": 1, "node3": 2}[acq.Node]
	require.Contains(t, []string{"node1", "west", "node3"}, acq.Node)
	before := make([]int64, len(net.nodes))
	for i, node := range net.nodes {
		before[i] = node.Stats().Uploads
	}
	data := randomBytes(2048)
	resp, body = post(t, gw.URL+"/bytes", data, map[string]string{"Swarm-Postage-Batch-Id": acq.BatchID})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	for i, node := range net.nodes {
		want := before[i]
		if i == owner {
			want++
		}
		require.Equal(t, want, node.Stats().Uploads, "node %d", i+1)
	}

	// Node 3 goes down: injected uploads that pick it are sent again to another node with
	// that node's batch, and every one succeeds.
	net.servers[2].CloseClientConnections()
	net.servers[2].Close()
	for range 6 {
		data := randomBytes(3000)
		resp, body := post(t, gw.URL+"/bytes", data, nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		requireDownloadsBack(t, gw, body, data)
	}
	st, _ = getNodesStatus(t, gw)
	require.False(t, st.Nodes["node3"].Available, "the down node is reported unavailable: %+v", st.Nodes)
	require.True(t, st.Nodes["node1"].Available)
}

// A node failing uploads is avoided (the failed upload is replayed on another node), and a
// node that is away (syncing) buys nothing while the others fill their pools.
func TestSeveralNodesFailingAndAwayNodes(t *testing.T) {
	net := startSimNetwork(t, 3)
	net.nodes[2].Restart(time.Hour) // syncing: every route but /health answers 503
	gw := startGateway(t, nodesSite(net, "reserve small 1", ""))
	waitNodesReserve(t, gw, "node1", "node2")

	net.nodes[1].SetClassFault(beesim.ClassUpload, beesim.ClassFault{Status: http.StatusInternalServerError})
	for range 6 {
		data := randomBytes(5000)
		resp, body := post(t, gw.URL+"/bytes", data, nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		requireDownloadsBack(t, gw, body, data)
	}
	require.Equal(t, int64(6), net.nodes[0].Stats().Uploads, "node 1 took every upload")
	require.LessOrEqual(t, net.nodes[1].Stats().Requests["POST upload"], int64(1), "the failing node was tried at most once, then avoided")

	st, _ := getNodesStatus(t, gw)
	require.False(t, st.Nodes["node2"].Available, "%+v", st.Nodes)
	require.False(t, st.Nodes["node3"].Available, "the active health check (GET /readiness) found the syncing node: %+v", st.Nodes)
	require.True(t, st.Nodes["node1"].Available)
	require.Zero(t, net.nodes[2].Stats().Purchases, "the away node bought nothing")
	require.Zero(t, st.Nodes["node3"].CurrentLevels["17"])
	require.NotEmpty(t, st.Nodes["node3"].Errors, "the away node's pool says why it does not buy")
	require.Contains(t, strings.Join(st.Errors, "\n"), "node node3: ", "the totals name the node of each error")

	// Node 2 recovers and node 1 starts syncing (503): an upload sent to node 1 is sent again
	// to node 2 with node 2's batch, though node 2 is still on the avoid list: better a node
	// that failed a while ago than no upload at all.
	net.nodes[1].ClearFaults()
	net.nodes[0].Restart(time.Hour)
	for range 3 {
		data := randomBytes(7000)
		resp, body := post(t, gw.URL+"/bytes", data, nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	}
	require.Equal(t, int64(3), net.nodes[1].Stats().Uploads, "node 2 took the uploads node 1 could not")
	require.Equal(t, int64(6), net.nodes[0].Stats().Uploads)
}

// Caddyfile.example's commented several-nodes site adapts as shown.
func TestCaddyfileExampleSeveralNodesAdapts(t *testing.T) {
	raw, err := os.ReadFile("../Caddyfile.example")
	require.NoError(t, err)
	_, block, found := strings.Cut(string(raw), "\n# http://")
	require.True(t, found, "Caddyfile.example shows a several-nodes site")
	var site []string
	for _, line := range strings.Split("# http://"+block, "\n") {
		site = append(site, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
	}
	out, err := adaptCaddyfile(t, strings.Join(site, "\n"))
	require.NoError(t, err)
	for _, want := range []string{`"nodes"`, `"label": "west"`, `"policy": "bee"`, `"uri": "/readiness"`} {
		require.Contains(t, out, want)
	}
}

// A reload keeps every node's pool runtime and, growing from one node to two, the first
// node's ledger: it buys nothing twice. Removing the pool block stops both.
func TestSeveralNodesReloadKeepsPools(t *testing.T) {
	net := startSimNetwork(t, 2)
	single := &simNetwork{nodes: net.nodes[:1], servers: net.servers[:1]}
	gw := startGateway(t, nodesSite(single, "reserve small 1", ""))
	waitPoolReserve(t, gw, adminToken, 17, 1, 60*time.Second)
	first := runningPool(t, net.servers[0].URL)
	require.NotNil(t, first)

	reload := func(site string) {
		caddyfile := "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n\tstorage file_system " + gw.Storage +
			"\n}\n\n" + strings.ReplaceAll(site, "{addr}", gw.Addr) + "\n"
		cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
		require.NoError(t, err)
		require.NoError(t, caddy.Load(cfg, true))
	}
	for range 3 {
		reload(nodesSite(net, "reserve small 1", ""))
	}
	require.Same(t, first, runningPool(t, net.servers[0].URL), "the first node keeps its pool as one of two")
	second := runningPool(t, net.servers[1].URL)
	require.NotNil(t, second)
	waitNodesReserve(t, gw, "node1", "node2")
	require.Len(t, net.nodes[0].Batches(), 1, "the first node's ledger was kept: nothing bought twice")
	require.Eventually(t, func() bool {
		return metricValue(t, "caddy_bee_node_pool_batches", "node", "node1", "depth", "17", "state", "target") == 1
	}, 10*time.Second, 20*time.Millisecond, "the kept pool's metrics carry its node label now")
	require.Len(t, net.nodes[1].Batches(), 1)

	reload(fmt.Sprintf("http://{addr} {\n\tbee %s %s\n}", net.servers[0].URL, net.servers[1].URL))
	require.Nil(t, runningPool(t, net.servers[0].URL), "no config uses the pools any more")
	require.Nil(t, runningPool(t, net.servers[1].URL))
}
