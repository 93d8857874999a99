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

// errFlightAbandoned is the cause set on a flight's upstream context when every waiter left.
var errFlightAbandoned = errors.New("coalesce: every waiter left; upstream request cancelled")

// aborted wraps err as ErrUpstreamAborted unless it already is one.
func aborted(err error) error {
	if err == nil || errors.Is(err, ErrUpstreamAborted) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUpstreamAborted, err)
}
