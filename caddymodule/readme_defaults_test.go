package caddymodule

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

// readmeBlock returns the option lines of README's grammar block `name { ... }`, comments
// and the lines that name no default (alternatives such as `a|b`, example paths) left out.
func readmeBlock(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, grammar, ok := strings.Cut(string(raw), "The full grammar, with defaults:")
	require.True(t, ok, "README has the grammar")
	_, block, ok := strings.Cut(grammar, "\n\t"+name+" {\n")
	require.True(t, ok, "README's grammar has a %s block", name)
	block, _, _ = strings.Cut(block, "\n\t}")
	comment := regexp.MustCompile(`\s+#.*$`)
	var lines []string
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(comment.ReplaceAllString(line, ""))
		if line != "" && !strings.ContainsAny(line, "<|") && !strings.HasPrefix(line, "spill_dir") {
			lines = append(lines, line)
		}
	}
	return lines
}

// The defaults README's grammar shows are the ones the code applies.
func TestReadmeGrammarShowsTheDefaults(t *testing.T) {
	lines := readmeBlock(t, "pool")
	require.Len(t, lines, 13, "every pool option but reserve")
	var h Handler
	input := "bee a:1 {\n pool {\n reserve small 1\n reserve medium 1\n " + strings.Join(lines, "\n ") + "\n }\n}"
	require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)))
	got, err := h.Pool.Resolve()
	require.NoError(t, err)
	want := pool.DefaultConfig()
	want.BlockTimeConfigured = true // the README's block sets it
	require.Equal(t, want, got)

	lines = readmeBlock(t, "coalesce")
	require.Len(t, lines, 5, "every coalesce option but spill_dir")
	h = Handler{}
	input = "bee a:1 {\n coalesce {\n " + strings.Join(lines, "\n ") + "\n }\n}"
	require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)))
	require.Equal(t, CoalesceConfig{MemoryWindow: coalesce.DefaultMemoryWindow, MaxWait: caddyDuration(coalesce.DefaultMaxWait),
		MaxMemory: coalesce.DefaultMaxMemory, MaxSpill: coalesce.DefaultMaxSpill, StallTimeout: caddyDuration(coalesce.DefaultStallTimeout)},
		*h.Coalesce)
}

func caddyDuration(d time.Duration) caddy.Duration { return caddy.Duration(d) }
