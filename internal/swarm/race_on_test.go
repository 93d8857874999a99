//go:build race

package swarm

// raceEnabled: the race detector slows hashing ~10x, so the tests skip their largest vectors.
const raceEnabled = true
