package bee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

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

// Reason is one entry of Bee's error `reasons`.
type Reason struct {
	Field string `json:"field"`
	Error string `json:"error"`
}

// APIError is an error answer from Bee: `{"code","message","reasons"}`.
type APIError struct {
	Status  int
	Code    int
	Message string
	Reasons []Reason
	Method  string
	Path    string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("bee %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
	for _, r := range e.Reasons {
		msg += fmt.Sprintf(" (%s: %s)", r.Field, r.Error)
	}
	return msg
}

// Is maps Bee's status and message to the sentinels.
func (e *APIError) Is(target error) bool {
	msg := strings.ToLower(e.Message)
	switch target {
	case ErrOutOfFunds:
		return strings.Contains(msg, "out of funds")
	case ErrBusy:
		return e.Status == http.StatusTooManyRequests
	case ErrSyncing:
		return e.Status == http.StatusServiceUnavailable
	case ErrNotUsable:
		return strings.Contains(msg, "not usable")
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrInsufficientAmount:
		return strings.Contains(msg, "insufficient amount")
	case ErrChainDisabled:
		return e.Status == http.StatusForbidden && strings.Contains(msg, "chain is disabled")
	}
	return false
}

func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var envelope struct {
		Code    int      `json:"code"`
		Message string   `json:"message"`
		Reasons []Reason `json:"reasons"`
	}
	if json.Unmarshal(body, &envelope) == nil && envelope.Message != "" {
		e.Code, e.Message, e.Reasons = envelope.Code, envelope.Message, envelope.Reasons
		return e
	}
	// Not Bee's envelope (a proxy's HTML page, say): keep a short, printable excerpt.
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e.Code, e.Message = status, text
	return e
}

func asAPIError(err error, target **APIError) bool {
	return err != nil && errors.As(err, target)
}

// CallError is a call that got no answer from Bee.
type CallError struct {
	Method, Path string
	Err          error
	// Sent is true when the request may have reached Bee before the failure.
	Sent bool
}

func (e *CallError) Error() string {
	return fmt.Sprintf("bee %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// Is makes every CallError an ErrUnreachable.
func (e *CallError) Is(target error) bool { return target == ErrUnreachable }

// IsTimeout reports whether a call's outcome is unknown: the request may have reached Bee and
// no answer came (deadline, cut connection). A purchase in that state must be reconciled
// through Bee's batch list, never assumed failed.
func IsTimeout(err error) bool {
	var ce *CallError
	if !errors.As(err, &ce) {
		return false
	}
	if errors.Is(ce.Err, context.DeadlineExceeded) || errors.Is(ce.Err, context.Canceled) {
		return true
	}
	var netErr net.Error
	if errors.As(ce.Err, &netErr) && netErr.Timeout() {
		return true
	}
	var opErr *net.OpError
	if errors.As(ce.Err, &opErr) && opErr.Op == "dial" {
		return false // never connected: nothing was sent
	}
	return ce.Sent
}
