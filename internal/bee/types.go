// Package bee is a typed client for the parts of Bee's HTTP API that caddy-bee uses.
package bee

import "math/big"

// Stamp is one postage batch as GET /stamps and GET /stamps/{id} report it. Its JSON form is
// Bee's: Amount is a decimal string (numbers are accepted too), and UtilizationRatio, absent
// before Bee 2.8.1, is computed as utilization/2^(depth-bucketDepth) when missing.
type Stamp struct {
	BatchID          string   `json:"batchID"`
	Utilization      int      `json:"utilization"`
	UtilizationRatio float64  `json:"utilizationRatio"`
	Usable           bool     `json:"usable"`
	Label            string   `json:"label"`
	Depth            int      `json:"depth"`
	Amount           *big.Int `json:"amount"` // PLUR per chunk; never nil after decoding
	BucketDepth      int      `json:"bucketDepth"`
	BlockNumber      uint64   `json:"blockNumber"`
	ImmutableFlag    bool     `json:"immutableFlag"`
	Exists           bool     `json:"exists"`
	BatchTTL         int64    `json:"batchTTL"` // seconds; -1 unknown
}

// Buckets is GET /stamps/{id}/buckets: chunks per bucket (index = bucket id).
type Buckets struct {
	Depth, BucketDepth, UpperBound int
	Collisions                     []int
}

// ChainState is GET /chainstate. CurrentPrice is PLUR per chunk per block.
type ChainState struct {
	ChainTip     uint64
	Block        uint64
	TotalAmount  *big.Int
	CurrentPrice *big.Int
}

// Health is GET /health.
type Health struct {
	Status     string
	Version    string
	APIVersion string
}
