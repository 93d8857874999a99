package caddymodule

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/stretchr/testify/require"
)

// A pinned request goes to its node whatever the URI; others follow the fallback (a URI hash
// by default, so one reference always reaches one node); a pin to no upstream selects none.
func TestBeeSelection(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	var sel BeeSelection
	require.NoError(t, sel.Provision(ctx))
	pool := reverseproxy.UpstreamPool{
		{Host: new(reverseproxy.Host), Dial: "10.0.0.1:1633"},
		{Host: new(reverseproxy.Host), Dial: "10.0.0.2:1633"},
		{Host: new(reverseproxy.Host), Dial: "10.0.0.3:1633"},
	}
	selectFor := func(path, pin string) *reverseproxy.Upstream {
		r := httptest.NewRequest("GET", path, nil)
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
		if pin != "" {
			caddyhttp.SetVar(r.Context(), nodeVar, pin)
		}
		return sel.Select(pool, r, nil)
	}

	seen := map[string]bool{}
	for _, ref := range []string{"/bytes/aa", "/bytes/bb", "/bytes/cc", "/bytes/dd", "/bytes/ee", "/bytes/ff"} {
		first := selectFor(ref, "")
		require.NotNil(t, first)
		require.Same(t, first, selectFor(ref, ""), "one reference, one node")
		seen[first.Dial] = true
		for _, u := range pool {
			require.Same(t, u, selectFor(ref, u.Dial), "pinned to %s", u.Dial)
		}
	}
	require.Greater(t, len(seen), 1, "references spread over the nodes")
	require.Nil(t, selectFor("/bytes", "10.0.0.9:1633"), "a pin to a node the proxy does not have selects none")
}

func TestBeeSelectionCaddyfile(t *testing.T) {
	var sel BeeSelection
	require.NoError(t, sel.UnmarshalCaddyfile(caddyfile.NewTestDispenser("bee")))
	require.Nil(t, sel.FallbackRaw, "default fallback set at provision")
	require.NoError(t, sel.UnmarshalCaddyfile(caddyfile.NewTestDispenser("bee round_robin")))
	require.JSONEq(t, `{"policy":"round_robin"}`, string(sel.FallbackRaw))
	require.Error(t, new(BeeSelection).UnmarshalCaddyfile(caddyfile.NewTestDispenser("bee no_such_policy")))
}
