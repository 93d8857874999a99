package bee

import (
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
	if hint := e.hint(); hint != "" {
		msg += "; " + hint
	}
	return msg
}

// hint says what to do about the failures an operator can fix.
func (e *APIError) hint() string {
	switch {
	case e.Is(ErrOutOfFunds):
		return "fund the Bee node's wallet with xBZZ (GET /wallet shows the balance)"
	case e.Is(ErrInsufficientAmount):
		return fmt.Sprintf("the amount must exceed currentPrice x %d (24 h of validity)", BlocksIn(MinimumValidity, GnosisBlockTime))
	case e.Is(ErrBusy):
		return "Bee runs one on-chain operation at a time; retry when the current one is mined"
	case e.Is(ErrChainDisabled):
		return "stamps need a Bee node with a blockchain RPC endpoint (full or light mode)"
	case e.Is(ErrSyncing):
		return "wait for the node to finish syncing and retry"
	}
	return ""
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
		// Bee's wording has varied ("Chain disabled", "Chain is disabled"); match both.
		return e.Status == http.StatusForbidden && strings.Contains(msg, "chain") && strings.Contains(msg, "disabled")
	}
	return false
}

// maxErrorMessage bounds the excerpt kept from an error body that is not Bee's envelope.
const maxErrorMessage = 200

func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var envelope struct {
		Code    int      `json:"code"`
		Message string   `json:"message"`
		Reasons []Reason `json:"reasons"`
	}
	if json.Unmarshal(body, &envelope) == nil && envelope.Message != "" {
		e.Code, e.Message, e.Reasons = envelope.Code, envelope.Message, envelope.Reasons
		if e.Code == 0 {
			e.Code = status
		}
		return e
	}
	// Not Bee's envelope (a proxy's HTML page, say): keep a short, printable excerpt.
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > maxErrorMessage {
		text = strings.ToValidUTF8(text[:maxErrorMessage], "") + "..." // drop a rune cut in half
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e.Code, e.Message = status, text
	return e
}

// CallError is a call that got no (complete) answer from Bee. It matches ErrUnreachable.
type CallError struct {
	Method, Path string
	BaseURL      string
	Err          error
}

func (e *CallError) Error() string {
	msg := fmt.Sprintf("bee %s %s: %v", e.Method, e.Path, e.Err)
	if neverConnected(e.Err) {
		msg += fmt.Sprintf("; is Bee running and listening at %s?", e.BaseURL)
	}
	return msg
}

func (e *CallError) Unwrap() error { return e.Err }

// Is makes every CallError an ErrUnreachable.
func (e *CallError) Is(target error) bool { return target == ErrUnreachable }

// neverConnected reports a failure to establish the connection: the request cannot have reached Bee.
func neverConnected(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}

// IsTimeout reports whether a call's outcome is unknown: the request may have reached Bee and
// no complete answer came (client timeout, context deadline or cancellation, connection reset
// after sending). A purchase in that state may have been mined: reconcile through Bee's batch
// list instead of assuming it failed. A refused connection is not a timeout: nothing was sent.
func IsTimeout(err error) bool {
	var ce *CallError
	if !errors.As(err, &ce) {
		return false
	}
	return !neverConnected(ce.Err)
}

// PublicDescription describes err for anonymous readers (the pool's public /status): Bee's own
// answer as it is, but never the node's address or the network error behind a call that got
// no answer. The full error belongs in the log.
func PublicDescription(err error) string {
	var apiErr *APIError
	var callErr *CallError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Error()
	case errors.As(err, &callErr):
		return fmt.Sprintf("bee %s %s: no answer (connection failed or timed out; the gateway's log has the details)",
			callErr.Method, callErr.Path)
	}
	return "bee request failed (the gateway's log has the details)"
}
