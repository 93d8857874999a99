package caddymodule

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/require"
)

func TestUnmarshalCacheCaddyfile(t *testing.T) {
	var h Handler
	require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("bee x:1 {\n cache off\n}")))
	require.Equal(t, &CacheConfig{Disabled: true}, h.Cache)

	h = Handler{}
	require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(
		"bee x:1 {\n cache {\n memory 128MiB\n disk 10GiB\n dir /var/cache/bee\n }\n}")))
	require.Equal(t, &CacheConfig{Memory: 128 << 20, Disk: 10 << 30, Dir: "/var/cache/bee"}, h.Cache)
	require.NoError(t, h.Cache.Validate())

	for input, want := range map[string]string{
		"bee x:1 {\n cache maybe\n}":               `cache "maybe"`,
		"bee x:1 {\n cache {\n memory lots\n }\n}": `cache memory "lots": want a size such as 64MiB or 10GiB`,
		"bee x:1 {\n cache {\n ttl 1h\n }\n}":      `unknown cache option "ttl"`,
		"bee x:1 {\n cache off\n cache on\n}":      "declared twice",
		"bee x:1 {\n cache {\n dir\n }\n}":         "cache dir",
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		require.ErrorContains(t, err, want, input)
	}
}
