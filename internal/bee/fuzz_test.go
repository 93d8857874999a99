package bee

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// FuzzValidateBatchID: exactly the ids Bee accepts (32 bytes of hex, no 0x) pass; no panic.
func FuzzValidateBatchID(f *testing.F) {
	for _, s := range []string{
		strings.Repeat("ab", 32), strings.Repeat("AB", 32), strings.Repeat("0", 64), "0x" + strings.Repeat("a", 62),
		strings.Repeat("a", 63), strings.Repeat("a", 65), "", strings.Repeat("g", 64), strings.Repeat("é", 32),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateBatchID(id)
		raw, decErr := hex.DecodeString(id)
		want := decErr == nil && len(raw) == 32
		if (err == nil) != want {
			t.Fatalf("ValidateBatchID(%q) = %v; hex decode says valid=%v", id, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "64 hex characters") {
			t.Fatalf("error does not say what to send: %v", err)
		}
	})
}

// FuzzAPIErrorDecoding: whatever status and body an upstream sends, the typed error is
// built without panicking, keeps the status, and classifies only by status (plus Bee's
// message where the status is ambiguous).
func FuzzAPIErrorDecoding(f *testing.F) {
	f.Add(402, []byte(`{"code":402,"message":"batch is overissued"}`))
	f.Add(429, []byte(`{"code":429,"message":"Too Many Requests"}`))
	f.Add(503, []byte(`{"code":503,"message":"Node is syncing. This endpoint is unavailable. Try again later."}`))
	f.Add(400, []byte(`{"code":400,"message":"batch not usable"}`))
	f.Add(404, []byte(`not json at all`))
	f.Add(500, []byte(`{"code":"x","message":12,"reasons":[{"field":1}]}`))
	f.Add(418, []byte{0xff, 0xfe, 0x00})
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		e := newAPIError("GET", "/stamps", status, body)
		if e == nil || e.Status != status {
			t.Fatalf("status %d lost: %#v", status, e)
		}
		msg := e.Error()
		if msg == "" || !strings.Contains(msg, "/stamps") {
			t.Fatalf("error without context: %q", msg)
		}
		if errors.Is(e, ErrUnreachable) {
			t.Fatal("an answer from Bee is never 'unreachable'")
		}
	})
}
