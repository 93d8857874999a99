// Package swarm computes Ethereum Swarm content addresses as Bee does: the BMT address of a
// chunk, the chunk tree of /bytes uploads (with the extra chunks redundancy levels add),
// single-owner chunk (SOC) addresses and signature recovery, and feed update ids. It has no
// network or Caddy dependency, so the simulator and the gateway can both use it.
package swarm
