// Package testkit is what caddy-bee's tests, benchmarks and load tools share: started
// binaries and free ports, Caddyfile templates, heap and RSS peaks, the admin routes the
// gateway must refuse with their hostile spellings, the pool ledger as stored, the Bee
// simulator's control API and an in-memory pool storage.
//
// The product never links it: `go list -deps ./cmd/caddy ./cmd/beesim` does not list it.
// It imports no Caddy and no caddy-bee package but the simulator's (for its types), so any
// package's tests can use it, internal/pool's included.
package testkit
