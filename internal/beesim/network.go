package beesim

import "fmt"

// NewNetwork returns n simulated nodes of one Swarm network. Each node has its own wallet,
// batches, stats and faults: a batch stamps only on the node that bought it (another node
// answers 404 "batch with id not found", as Bee does for a batch it does not own). The
// network's content is shared: what is uploaded through any node is retrievable from every
// node, as Swarm's push and retrieval protocols make it. The nodes share one chain (the same
// block numbers and price); opts.MaxStoredBytes bounds the network's store.
func NewNetwork(n int, opts Options) ([]*Sim, error) {
	if n < 1 || n > maxNetworkNodes {
		return nil, fmt.Errorf("a network of %d nodes: want 1..%d", n, maxNetworkNodes)
	}
	if err := CheckVersion(opts.BeeVersion); err != nil {
		return nil, err
	}
	first := New(opts)
	nodes := []*Sim{first}
	for range n - 1 {
		s := New(opts)
		s.start = first.start
		s.mu = first.mu
		s.content, s.chunks, s.socs, s.stored = first.content, first.chunks, first.socs, first.stored
		nodes = append(nodes, s)
	}
	return nodes, nil
}

// maxNetworkNodes bounds -nodes: each node is a listener and a goroutine or two.
const maxNetworkNodes = 64
