package coalesce

import (
	"errors"
	"fmt"
)

// ErrUpstreamAborted marks a response that cannot be completed truthfully: the upstream
// body was cut mid-stream, the upstream panicked, or the spooled body could not be stored
// or read back. ServeHTTP returns an error wrapping it after writing what it has; the
// caller must then abort the client connection (in Caddy: panic(http.ErrAbortHandler)) so
// the client sees a broken response instead of a short 200.
var ErrUpstreamAborted = errors.New("coalesce: upstream response aborted before its end")

// ErrClientGone marks a response that ended because its own client went away: the client
// closed the connection, a write to it failed, or it accepted no bytes for StallTimeout.
// Nothing is wrong upstream; in Caddy it is a 499, logged at debug level only.
var ErrClientGone = errors.New("coalesce: client gone")

// errStalled is the cause of a cut for accepting no bytes for StallTimeout.
var errStalled = errors.New("client accepted no bytes within the stall timeout")

// errLeaderLeft ends the loan of a leader's client when the leader's request ended first.
var errLeaderLeft = errors.New("coalesce: the leader's request ended")

// errFlightAbandoned is the cause set on a flight's upstream context when every waiter left.
var errFlightAbandoned = errors.New("coalesce: every waiter left; upstream request cancelled")

// aborted wraps err as ErrUpstreamAborted unless it already is one.
func aborted(err error) error {
	if err == nil || errors.Is(err, ErrUpstreamAborted) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUpstreamAborted, err)
}
