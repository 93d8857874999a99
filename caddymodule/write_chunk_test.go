package caddymodule

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/stretchr/testify/require"
)

func TestLargeDownloadWritesRaisesOnlyCaddysDefaultChunk(t *testing.T) {
	for _, tc := range []struct{ server, want int }{
		{caddyhttp.DefaultMaxWriteChunk, downloadWriteChunk},
		{0, downloadWriteChunk},
		{128 << 10, 128 << 10}, // the admin's max_write_chunk stands
		{8 << 20, 8 << 20},
	} {
		w := &caddyhttp.IdleTimeoutWriter{MaxChunk: tc.server}
		r := httptest.NewRequest("GET", "/bytes/x", nil)
		r = r.WithContext(caddyhttp.ContextWithIdleTimeouts(r.Context(), nil, w))
		largeDownloadWrites(r)
		require.Equal(t, tc.want, w.MaxChunk, "server max_write_chunk %d", tc.server)
	}
	// No write idle timeout (write_idle_timeout off): nothing to raise.
	largeDownloadWrites(httptest.NewRequest("GET", "/bytes/x", nil).WithContext(context.Background()))
}
