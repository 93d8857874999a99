package bee

import "errors"

// Sentinels for the Bee failures callers act on; match them with errors.Is.
var (
	ErrOutOfFunds         = errors.New("bee: out of funds")
	ErrBusy               = errors.New("bee: simultaneous on-chain operations not supported")
	ErrSyncing            = errors.New("bee: node is syncing")
	ErrNotUsable          = errors.New("bee: batch not usable")
	ErrNotFound           = errors.New("bee: not found")
	ErrInsufficientAmount = errors.New("bee: insufficient amount for 24h minimum validity")
	ErrChainDisabled      = errors.New("bee: chain is disabled")
	ErrUnreachable        = errors.New("bee: unreachable")
)

// IsTimeout reports whether a call's outcome is unknown: it was sent but no answer arrived.
// TODO(bee client): implement.
func IsTimeout(err error) bool { return false }
