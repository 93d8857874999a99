package caddyfileopts

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// duration is a stand-in for caddy.Duration.
type duration int64

var parser = Parser[duration]{ParseDuration: time.ParseDuration}

func TestPool(t *testing.T) {
	yes, no, six := true, false, 6
	got, err := parser.Pool(dispense("pool {\n reserve small 2\n reserve medium 1\n reserve 24 3\n usage_max 0.5\n"+
		" max_purchases_per_hour 6\n immediate_replenish off\n acquire_fallback on\n label_prefix gw_1\n"+
		" duration 48h\n block_time 1s\n}"), "pool")
	require.NoError(t, err)
	require.Equal(t, &pool.Block[duration]{
		Reserve: map[int]int{17: 2, 20: 1, 24: 3}, UsageMax: 0.5, MaxPurchasesPerHour: &six,
		ImmediateReplenish: &no, AcquireFallback: &yes, LabelPrefix: "gw_1",
		Duration: duration(48 * time.Hour), BlockTime: duration(time.Second)}, got)

	got, err = parser.Pool(dispense("pool"), "pool")
	require.NoError(t, err)
	require.Equal(t, &pool.Block[duration]{}, got)

	for input, want := range map[string]string{
		"pool 1":                                     "pool takes no arguments, only a block",
		"pool {\n reserve huge 1\n}":                 `pool reserve "huge"`,
		"pool {\n reserve 16 1\n}":                   "pool reserve depth 16",
		"pool {\n reserve 99 1\n}":                   "pool reserve depth 99",
		"pool {\n reserve small -1\n}":               "whole number",
		"pool {\n reserve small\n}":                  "reserve <depth|small|medium|large> <count>`, at Testfile:2",
		"pool {\n reserve small 1\n reserve 17 2\n}": "depth 17: declared twice",
		"pool {\n usage_max 1.5\n}":                  "pool usage_max",
		"pool {\n duration soon\n}":                  `pool duration "soon": want a positive duration such as 30s, 15m or 168h, at Testfile:2`,
		"pool {\n min_ttl 0s\n}":                     "positive duration",
		"pool {\n max_purchases_per_hour many\n}":    "pool max_purchases_per_hour",
		"pool {\n label_prefix has/slash\n}":         "pool label_prefix",
		"pool {\n acquire_fallback maybe\n}":         `pool acquire_fallback "maybe": want on or off`,
		"pool {\n topup\n}":                          "pool topup: want exactly one value, got 0",
		"pool {\n frobnicate 1\n}":                   `unknown pool option "frobnicate"`,
	} {
		_, err := parser.Pool(dispense(input), "pool")
		require.ErrorContains(t, err, want, input)
	}
}

func TestNode(t *testing.T) {
	list := []nodes.Config[duration]{{URL: "http://a:1", Label: "node1"}, {URL: "http://b:2", Label: "node2"}}
	require.NoError(t, parser.Node(dispense("node b:2 {\n label east\n pool {\n reserve small 1\n }\n}"), list))
	require.Equal(t, nodes.Config[duration]{URL: "http://b:2", Label: "east", Pool: &pool.Block[duration]{Reserve: map[int]int{17: 1}}}, list[1])
	require.Equal(t, "node1", list[0].Label)

	require.ErrorContains(t, parser.Node(dispense("node a:1 {\n label x\n}"), nil), "node blocks are for several nodes")
	for input, want := range map[string]string{
		"node c:3 {\n label x\n}":                     "not one of the bee directive's URLs",
		"node ftp://a:1":                              `scheme "ftp" is not supported`,
		"node a:1 {\n label has/slash\n}":             `node label "has/slash"`,
		"node a:1 {\n label x\n label y\n}":           "node http://a:1: label declared twice, at Testfile:3",
		"node a:1 {\n weight 2\n}":                    `unknown node option "weight"`,
		"node a:1 {\n pool {\n reserve huge 1\n }\n}": `pool reserve "huge"`,
	} {
		require.ErrorContains(t, parser.Node(dispense(input), list), want, input)
	}
}

func TestCoalesce(t *testing.T) {
	got, err := parser.Coalesce(dispense("coalesce off"))
	require.NoError(t, err)
	require.Equal(t, &coalesce.Config[duration]{Disabled: true}, got)

	got, err = parser.Coalesce(dispense("coalesce {\n memory_window 1MiB\n max_wait 2s\n max_memory 64MiB\n" +
		" max_spill 1GiB\n spill_dir /var/tmp/bee\n stall_timeout 30s\n}"))
	require.NoError(t, err)
	require.Equal(t, &coalesce.Config[duration]{MemoryWindow: 1 << 20, MaxWait: duration(2 * time.Second), MaxMemory: 64 << 20,
		MaxSpill: 1 << 30, SpillDir: "/var/tmp/bee", StallTimeout: duration(30 * time.Second)}, got)

	for input, want := range map[string]string{
		"coalesce maybe":                     `coalesce "maybe": want on, off or a block`,
		"coalesce on off":                    "wrong argument count",
		"coalesce {\n memory_window lots\n}": `coalesce memory_window "lots": want a size such as 8MiB`,
		"coalesce {\n max_wait -1s\n}":       "positive duration",
		"coalesce {\n ttl 1s\n}":             `unknown coalesce option "ttl"`,
		"coalesce {\n max_spill lots\n}":     "max_spill",
		"coalesce {\n stall_timeout 0s\n}":   "positive duration",
	} {
		_, err := parser.Coalesce(dispense(input))
		require.ErrorContains(t, err, want, input)
	}
}

func TestCache(t *testing.T) {
	got, err := Cache(dispense("cache off"))
	require.NoError(t, err)
	require.Equal(t, &cache.Config{Disabled: true}, got)

	got, err = Cache(dispense("cache {\n memory 128MiB\n disk 10GiB\n dir /var/cache/bee\n}"))
	require.NoError(t, err)
	require.Equal(t, &cache.Config{Memory: 128 << 20, Disk: 10 << 30, Dir: "/var/cache/bee"}, got)
	require.NoError(t, got.Validate())

	for input, want := range map[string]string{
		"cache maybe":              `cache "maybe"`,
		"cache {\n memory lots\n}": `cache memory "lots": want a size such as 64MiB or 10GiB`,
		"cache {\n ttl 1h\n}":      `unknown cache option "ttl"`,
		"cache {\n dir\n}":         "cache dir",
	} {
		_, err := Cache(dispense(input))
		require.ErrorContains(t, err, want, input)
	}
}

func TestCORS(t *testing.T) {
	for input, want := range map[string]cors.Config{
		"cors off":                              {Disabled: true},
		"cors *":                                {Origins: []string{"*"}},
		"cors https://a.example http://b:8":     {Origins: []string{"https://a.example", "http://b:8"}},
		"cors {\n api https://admin.example\n}": {APIOrigins: []string{"https://admin.example"}},
		"cors off {\n api *\n}":                 {Disabled: true, APIOrigins: []string{"*"}},
	} {
		got, err := CORS(dispense(input))
		require.NoError(t, err, input)
		require.Equal(t, want, *got, input)
	}
	for input, want := range map[string]string{
		"cors":                        "want `off`",
		"cors off https://a.example":  "stands alone",
		"cors https://a.example/":     "no path",
		"cors a.example":              "scheme://host",
		"cors * https://a.example":    "either `*` or origins",
		"cors {\n api\n}":             "cors api: want one or more",
		"cors {\n api *\n api *\n}":   "cors api: declared twice, at Testfile:3",
		"cors {\n credentials on\n}":  `unknown cors option "credentials"`,
		"cors {\n api https://x/y\n}": "no path",
	} {
		_, err := CORS(dispense(input))
		require.ErrorContains(t, err, want, input)
		require.ErrorContains(t, err, "Testfile:", input)
	}
}

func TestSubdomains(t *testing.T) {
	var c subdomain.Config
	get := func() *subdomain.Config { return &c }
	require.NoError(t, Subdomains(dispense("subdomains a.example.com b.example.com"), get))
	require.Equal(t, []string{"a.example.com", "b.example.com"}, c.Bases)
	require.ErrorContains(t, Subdomains(dispense("subdomains c.example.com"), get), "subdomains: declared twice")
	for input, want := range map[string]string{
		"subdomains":                         "subdomains: want one or more base domains",
		"subdomains https://bzz.example.com": "want a DNS name",
		"subdomains *.example.com":           "want a DNS name",
	} {
		require.ErrorContains(t, Subdomains(dispense(input), func() *subdomain.Config { return new(subdomain.Config) }), want, input)
	}
}

func TestBeeValues(t *testing.T) {
	got, err := ParseRoutes("routes", "all")
	require.NoError(t, err)
	require.Equal(t, "all", got)
	for _, bad := range []string{"", "open"} {
		_, err := ParseRoutes("routes", bad)
		require.EqualError(t, err, `routes "`+bad+`": want gateway or all`)
	}
	size, err := ParseReplayMemory("max_replay_memory", "64MiB")
	require.NoError(t, err)
	require.Equal(t, int64(64<<20), size)
	for _, bad := range []string{"0", "2TiB", "lots"} {
		_, err := ParseReplayMemory("max_replay_memory", bad)
		require.ErrorContains(t, err, "at least 1 byte, at most 1TiB", bad)
	}
	on, err := OnOff(dispense("ens TRUE"), "ens")
	require.NoError(t, err)
	require.True(t, on)
	_, err = OnOff(dispense("ens on off"), "ens")
	require.EqualError(t, err, "ens: want exactly one value, got 2, at Testfile:1")
}
