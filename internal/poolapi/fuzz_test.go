package poolapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzReadAPIBody: pool API bodies are refused with 413/422/408 or decoded; never a panic,
// never more than maxAPIBody bytes read.
func FuzzReadAPIBody(f *testing.F) {
	for _, seed := range []string{`{}`, `{"size":"small"}`, `{"depth":20}`, `{"size":1}`, `[]`, `{"depth":"x"}`, `{} {}`, ``} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/pool/acquire", strings.NewReader(body))
		w := httptest.NewRecorder()
		var req AcquireRequest
		status, err := readAPIBody(w, r, &req)
		if err == nil {
			if status != 0 {
				t.Fatalf("status %d without error", status)
			}
			return
		}
		switch status {
		case http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusRequestTimeout:
		default:
			t.Fatalf("status %d for %q", status, body)
		}
		if len(body) > maxAPIBody && status != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized body answered %d", status)
		}
	})
}
