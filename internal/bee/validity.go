package bee

import "time"

// Bee sells no batch for less than MinimumValidity: it refuses an amount that does not exceed
// currentPrice x the blocks of 24 h (/chainstate's minimumValidityBlocks), counted at its
// chain's block time, GnosisBlockTime on mainnet.
const (
	MinimumValidity = 24 * time.Hour
	GnosisBlockTime = 5 * time.Second
)

// BlocksIn is the number of blocks of blockTime that d spans, rounded up.
func BlocksIn(d, blockTime time.Duration) int64 {
	return int64((d + blockTime - 1) / blockTime)
}
