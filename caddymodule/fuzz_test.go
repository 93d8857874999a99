package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

// FuzzUnmarshalCaddyfile: any input either parses into a handler that validates its own
// invariants, or fails with an error that names a position; it never panics.
func FuzzUnmarshalCaddyfile(f *testing.F) {
	for _, seed := range []string{
		"bee 127.0.0.1:1633",
		"bee http://x:1 {\n pool {\n reserve small 2\n usage_max 0.5\n }\n inject on\n}",
		"bee x:1 {\n coalesce {\n memory_window 1MiB\n max_wait 1s\n }\n routes all\n}",
		"bee x:1 {\n reverse_proxy {\n header_up A b\n }\n}",
		"bee x:1 {\n pool {\n reserve 17 1\n reserve 17 2\n }\n}",
		"bee {\n}",
		"bee x:1 {\n cors https://a.example {\n api *\n }\n}",
		"bee a:1 b:2 {\n node a:1 {\n label east\n pool {\n reserve small 1\n }\n }\n}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		tokens, err := caddyfile.Tokenize([]byte(input), "Fuzzfile")
		if err != nil || len(tokens) == 0 {
			return // Caddy never hands a directive no tokens
		}
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
			if !strings.Contains(err.Error(), "Fuzzfile") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		if h.multiNode() {
			if _, err := validateNodes(h.Nodes, h.BeeURL); err != nil {
				t.Fatalf("accepted nodes: %v", err)
			}
		} else if _, err := NormalizeBeeURL(h.BeeURL); err != nil {
			t.Fatalf("accepted bee URL %q: %v", h.BeeURL, err)
		}
		if h.Pool != nil {
			if err := pool.CheckReserve(h.Pool.Reserve); err != nil {
				t.Fatalf("accepted reserve: %v", err)
			}
			if h.Pool.UsageMax < 0 || h.Pool.UsageMax > 1 {
				t.Fatalf("accepted usage_max %v", h.Pool.UsageMax)
			}
		}
		if err := h.provisionCORS(); err != nil {
			t.Fatalf("accepted cors that does not provision: %v", err)
		}
		if h.APIPrefix != "" {
			if err := routepolicy.CheckAPIPrefix(h.APIPrefix); err != nil {
				t.Fatalf("accepted api_prefix: %v", err)
			}
		}
	})
}
