package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/require"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	yes, no := true, false
	six := 6
	cases := []struct {
		name  string
		input string
		want  Handler
	}{
		{"bare host:port", "bee 127.0.0.1:1633", Handler{BeeURL: "http://127.0.0.1:1633"}},
		{"https URL with trailing slash", "bee https://bee.example:1633/", Handler{BeeURL: "https://bee.example:1633"}},
		{"coalesce off", "bee localhost:1633 {\n coalesce off\n}",
			Handler{BeeURL: "http://localhost:1633", Coalesce: &CoalesceConfig{Disabled: true}}},
		{"coalesce block", "bee localhost:1633 {\n coalesce {\n memory_window 1MiB\n max_wait 2s\n }\n}",
			Handler{BeeURL: "http://localhost:1633", Coalesce: &CoalesceConfig{MemoryWindow: 1 << 20, MaxWait: caddy.Duration(2e9)}}},
		{"coalesce bounds", "bee localhost:1633 {\n coalesce {\n max_memory 64MiB\n max_spill 1GiB\n spill_dir /var/tmp/bee\n stall_timeout 30s\n }\n}",
			Handler{BeeURL: "http://localhost:1633", Coalesce: &CoalesceConfig{MaxMemory: 64 << 20, MaxSpill: 1 << 30,
				SpillDir: "/var/tmp/bee", StallTimeout: caddy.Duration(30e9)}}},
		{"options", "bee localhost:1633 {\n inject off\n api_prefix /x/api\n admin_token s3cret\n routes all\n}",
			Handler{BeeURL: "http://localhost:1633", Inject: &no, APIPrefix: "/x/api", AdminToken: "s3cret", Routes: "all"}},
		{"pool", "bee localhost:1633 {\n pool {\n reserve small 2\n reserve medium 1\n reserve 24 3\n usage_max 0.5\n" +
			" max_purchases_per_hour 6\n immediate_replenish off\n acquire_fallback on\n label_prefix gw_1\n" +
			" duration 48h\n block_time 1s\n }\n inject on\n}",
			Handler{BeeURL: "http://localhost:1633", Inject: &yes, Pool: &PoolConfig{
				Reserve: map[int]int{17: 2, 20: 1, 24: 3}, UsageMax: 0.5, MaxPurchasesPerHour: &six,
				ImmediateReplenish: &no, AcquireFallback: &yes, LabelPrefix: "gw_1",
				Duration: caddy.Duration(48 * 3600e9), BlockTime: caddy.Duration(1e9)}}},
		{"empty pool block", "bee localhost:1633 {\n pool\n}", Handler{BeeURL: "http://localhost:1633", Pool: &PoolConfig{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got Handler
			require.NoError(t, got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input)))
			got.proxySegment = nil
			require.Equal(t, c.want, got)
		})
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	cases := []struct{ input, want string }{
		{"bee", "takes the Bee API URL"},
		{"bee a:1 http://a:1", "listed twice"},
		{"bee a:1 {\n node a:1 {\n label x\n }\n}", "node blocks are for several nodes"},
		{"bee a:1 b:2 {\n node c:3 {\n label x\n }\n}", "not one of the bee directive's URLs"},
		{"bee a:1 b:2 {\n node a:1 {\n label x\n }\n node b:2 {\n label x\n }\n}", `node label "x" used twice`},
		{"bee a:1 b:2 {\n node a:1 {\n pool {\n reserve huge 1\n }\n }\n}", `pool reserve "huge"`},
		{"bee ftp://x:1", `scheme "ftp" is not supported`},
		{"bee http://x:1/api", "only scheme, host and port"},
		{"bee http://user:pw@x:1", "only scheme, host and port"},
		{"bee http://:1633", "has no host"},
		{"bee x:1 {\n bogus\n}", `unknown bee option "bogus"`},
		{"bee x:1 {\n routes open\n}", `routes "open"`},
		{"bee x:1 {\n routes\n}", "routes: want exactly one value"},
		{"bee x:1 {\n inject maybe\n}", `inject "maybe": want on or off`},
		{"bee x:1 {\n api_prefix api\n}", "api_prefix"},
		{"bee x:1 {\n api_prefix /bytes\n}", "would hide Bee's /bytes routes"},
		{"bee x:1 {\n api_prefix /api/\n}", "no trailing slash"},
		{"bee x:1 {\n coalesce maybe\n}", `coalesce "maybe"`},
		{"bee x:1 {\n coalesce off\n coalesce on\n}", "declared twice"},
		{"bee x:1 {\n cache off\n cache on\n}", "cache: declared twice"},
		{"bee x:1 {\n cors *\n cors off\n}", "cors: declared twice"},
		{"bee x:1 {\n cors {\n credentials on\n }\n}", `unknown cors option "credentials"`},
		{"bee x:1 {\n pool {\n reserve huge 1\n }\n}", `pool reserve "huge"`},
		{"bee x:1 {\n pool {\n duration soon\n }\n}", `pool duration "soon"`},
		{"bee x:1 {\n pool {\n frobnicate 1\n }\n}", `unknown pool option "frobnicate"`},
		{"bee x:1 {\n pool {\n }\n pool {\n }\n}", "pool: declared twice"},
		{"bee x:1 {\n reverse_proxy 127.0.0.1:9\n}", "takes no upstream"},
		{"bee x:1 {\n subdomains\n}", "subdomains: want one or more base domains"},
		{"bee x:1 {\n subdomains https://bzz.example.com\n}", "want a DNS name"},
		{"bee x:1 {\n subdomains *.example.com\n}", "want a DNS name"},
		{"bee x:1 {\n subdomains a.com\n subdomains b.com\n}", "declared twice"},
		{"bee x:1 {\n ens on\n}", "ens needs subdomains"},
		{"bee x:1 {\n subdomains a.com\n ens maybe\n}", `ens "maybe": want on or off`},
	}
	for _, c := range cases {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input))
		require.Error(t, err, c.input)
		require.Contains(t, err.Error(), c.want, c.input)
		require.Contains(t, err.Error(), "Testfile:", "error must name the file and line: %v", err)
	}
}

func TestTLSPermissionCaddyfile(t *testing.T) {
	var p TLSPermission
	require.NoError(t, p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("bee a.example.com b.example.com {\n ens on\n}")))
	require.Equal(t, TLSPermission{Bases: []string{"a.example.com", "b.example.com"}, ENS: true}, p)
	for input, want := range map[string]string{
		"bee":                        "one or more base domains",
		"bee *.example.com":          "want a DNS name",
		"bee a.com {\n ens maybe\n}": `want on or off`,
		"bee a.com {\n ask x\n}":     `unknown permission bee option "ask"`,
	} {
		var p TLSPermission
		err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		require.Error(t, err, input)
		require.Contains(t, err.Error(), want, input)
	}
}

// Errors raised while adapting a whole Caddyfile name the line of the offending option.
func TestAdaptErrorsNameLine(t *testing.T) {
	cases := []struct{ site, want string }{
		{":8080 {\n\tbee 127.0.0.1:1633 {\n\t\tfrob on\n\t}\n}", "Caddyfile:3"},
		{":8080 {\n\tbee 127.0.0.1:1633 {\n\t\treverse_proxy {\n\t\t\tnot_an_option 1\n\t\t}\n\t}\n}", "not_an_option"},
		{":8080 {\n\tbee\n}", "Caddyfile:2"},
		{":8080 {\n\tbee a:1 b:2 {\n\t\treverse_proxy {\n\t\t\tlb_policy round_robin\n\t\t}\n\t}\n}", "lb_policy bee round_robin"},
		{":8080 {\n\tbee a:1 b:2 {\n\t\treverse_proxy {\n\t\t\tlb_policy bee bee\n\t\t}\n\t}\n}", "cannot be bee itself"},
	}
	for _, c := range cases {
		_, err := adaptCaddyfile(t, c.site+"\n")
		require.Error(t, err, c.site)
		require.True(t, strings.Contains(err.Error(), c.want), "%q does not contain %q", err, c.want)
	}
}
