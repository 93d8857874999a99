package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterDirective("bee", parseBeeDirective)
	httpcaddyfile.RegisterDirectiveOrder("bee", httpcaddyfile.Before, "reverse_proxy")
}

// parseBeeDirective expands `bee <url> { ... }` into one route holding the bee handler and
// Caddy's own reverse_proxy to the same URL, as forward_auth does for its proxy.
//
//	bee [<matcher>] <bee-api-url>... {
//	    node <bee-api-url> { label <name>  pool { ... } }   # several URLs: per node
//	    pool { ... }
//	    inject on|off
//	    coalesce off | coalesce { memory_window <size>  max_wait <duration>  max_memory <size>
//	                              max_spill <size>  spill_dir <path>  stall_timeout <duration> }
//	    api_prefix <path>
//	    admin_token <token>
//	    routes gateway|all
//	    cors off | cors <origin>... [{ api <origin>... }]
//	    subdomains <base-domain>...
//	    ens on|off
//	    max_replay_memory <size>
//	    upload_idle_timeout <duration>
//	    reverse_proxy { <any reverse_proxy sub-directive> }
//	}
func parseBeeDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	h.Next() // ExtractMatcherSet rewound the dispenser
	segment := h.NextSegment()
	var handler Handler
	if err := handler.UnmarshalCaddyfile(caddyfile.NewDispenser(segment)); err != nil {
		return nil, err
	}

	// reverse_proxy <bee-url> { <pass-through block> }
	// The fabricated tokens share the sub-block's line, so its `{` opens their block.
	directive := segment[0]
	if len(handler.proxySegment) > 0 {
		directive = handler.proxySegment[0]
	}
	directive.Text = "reverse_proxy"
	tokens := []caddyfile.Token{directive}
	for _, u := range handler.nodeURLs() {
		upstream := directive
		upstream.Text = u
		tokens = append(tokens, upstream)
	}
	if len(handler.proxySegment) > 0 {
		tokens = append(tokens, handler.proxySegment[1:]...) // drop the sub-block's own name
	}
	proxy := new(reverseproxy.Handler)
	if err := proxy.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
		return nil, err
	}
	if err := proxy.FinalizeUnmarshalCaddyfile(h); err != nil {
		return nil, err
	}
	if handler.multiNode() {
		if err := balanceOverNodes(proxy); err != nil {
			return nil, h.Err(err.Error())
		}
	}

	route := caddyhttp.Route{
		HandlersRaw: []json.RawMessage{
			caddyconfig.JSONModuleObject(handler, "handler", "bee", nil),
			caddyconfig.JSONModuleObject(proxy, "handler", "reverse_proxy", nil),
		},
	}
	if matcherSet != nil {
		route.MatcherSetsRaw = []caddy.ModuleMap{matcherSet}
	}
	return []httpcaddyfile.ConfigValue{{Class: "route", Value: route}}, nil
}

// UnmarshalCaddyfile reads the bee directive's arguments and block.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if !d.Next() { // directive name
		return d.Err("bee: empty directive; want `bee <bee-api-url>`")
	}
	args := d.RemainingArgs()
	// A matcher token, if any, was already consumed by the helper.
	if len(args) == 0 {
		return d.Errf("bee takes the Bee API URL (e.g. `bee http://127.0.0.1:1633`), or several nodes' URLs")
	}
	for _, arg := range args {
		beeURL, err := NormalizeBeeURL(arg)
		if err != nil {
			return d.Errf("bee URL: %v", err)
		}
		if len(args) == 1 {
			h.BeeURL = beeURL
			break
		}
		for _, n := range h.Nodes {
			if n.URL == beeURL {
				return d.Errf("bee URL %s listed twice", beeURL)
			}
		}
		h.Nodes = append(h.Nodes, NodeConfig{URL: beeURL, Label: fmt.Sprintf("node%d", len(h.Nodes)+1)})
	}

	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		switch option {
		case "pool":
			if h.Pool != nil {
				return d.Errf("pool: declared twice")
			}
			if d.NextArg() {
				return d.Errf("pool takes no arguments, only a block")
			}
			pool, err := unmarshalPool(d)
			if err != nil {
				return err
			}
			h.Pool = pool
		case "inject":
			on, err := onOff(d, option)
			if err != nil {
				return err
			}
			h.Inject = &on
		case "coalesce":
			if err := h.unmarshalCoalesce(d); err != nil {
				return err
			}
		case "cache":
			if err := h.unmarshalCache(d); err != nil {
				return err
			}
		case "api_prefix":
			if err := singleArg(d, option, &h.APIPrefix); err != nil {
				return err
			}
			if err := validateAPIPrefix(h.APIPrefix); err != nil {
				return d.Err(err.Error())
			}
		case "admin_token":
			if err := singleArg(d, option, &h.AdminToken); err != nil {
				return err
			}
		case "routes":
			if err := singleArg(d, option, &h.Routes); err != nil {
				return err
			}
			if h.Routes != "gateway" && h.Routes != "all" {
				return d.Errf("routes %q: want gateway or all", h.Routes)
			}
		case "cors":
			if err := h.unmarshalCORS(d); err != nil {
				return err
			}
		case "subdomains":
			bases := d.RemainingArgs()
			if len(bases) == 0 {
				return d.Errf("subdomains: want one or more base domains, e.g. `subdomains bzz.example.com`")
			}
			if h.Subdomains == nil {
				h.Subdomains = new(SubdomainsConfig)
			}
			if len(h.Subdomains.Bases) > 0 {
				return d.Errf("subdomains: declared twice; list every base domain on one line")
			}
			h.Subdomains.Bases = bases
			if _, err := h.Subdomains.hosts(); err != nil {
				return d.Err(err.Error())
			}
		case "ens":
			on, err := onOff(d, option)
			if err != nil {
				return err
			}
			if h.Subdomains == nil {
				h.Subdomains = new(SubdomainsConfig)
			}
			h.Subdomains.ENS = on
		case "max_replay_memory":
			var value string
			if err := singleArg(d, option, &value); err != nil {
				return err
			}
			size, err := humanize.ParseBytes(value)
			if err != nil || size == 0 || size > maxConfigSize {
				return d.Errf("max_replay_memory %q: want a size such as 64MiB (at least 1 byte, at most 1TiB)", value)
			}
			h.MaxReplayMemory = int64(size)
		case "upload_idle_timeout":
			var value string
			if err := singleArg(d, option, &value); err != nil {
				return err
			}
			timeout, err := parseDuration(d, option, value)
			if err != nil {
				return err
			}
			h.UploadIdleTimeout = timeout
		case "node":
			if err := h.unmarshalNode(d); err != nil {
				return err
			}
		case "reverse_proxy":
			if h.proxySegment != nil {
				return d.Errf("reverse_proxy: declared twice")
			}
			if d.CountRemainingArgs() > 0 {
				return d.Errf("reverse_proxy inside bee takes no upstream (the Bee URL is the upstream), only a block of reverse_proxy options")
			}
			h.proxySegment = d.NextSegment()
		default:
			return d.Errf("unknown bee option %q: want node, pool, inject, coalesce, cors, api_prefix, admin_token, routes, subdomains, ens, max_replay_memory, upload_idle_timeout or reverse_proxy", option)
		}
	}
	if _, err := validateNodes(h.Nodes, h.BeeURL); err != nil {
		return d.Err(err.Error())
	}
	if h.Subdomains != nil && len(h.Subdomains.Bases) == 0 {
		return d.Errf("ens needs subdomains: add `subdomains <base-domain>` (ENS names are served as <name>.<base>)")
	}
	return nil
}

// unmarshalNode reads `node <bee-api-url> { label <name>  pool { ... } }`: the label and
// pool of one of the directive's nodes.
func (h *Handler) unmarshalNode(d *caddyfile.Dispenser) error {
	if !h.multiNode() {
		return d.Errf("node blocks are for several nodes: list their URLs after bee (`bee <url> <url>...`)")
	}
	var raw string
	if err := singleArg(d, "node", &raw); err != nil {
		return err
	}
	nodeURL, err := NormalizeBeeURL(raw)
	if err != nil {
		return d.Errf("node URL: %v", err)
	}
	var node *NodeConfig
	for i := range h.Nodes {
		if h.Nodes[i].URL == nodeURL {
			node = &h.Nodes[i]
		}
	}
	if node == nil {
		return d.Errf("node %s is not one of the bee directive's URLs; list it after bee", nodeURL)
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		if seen[option] {
			return d.Errf("node %s: %s declared twice", nodeURL, option)
		}
		seen[option] = true
		switch option {
		case "label":
			if err := singleArg(d, "node label", &node.Label); err != nil {
				return err
			}
			if !labelPattern.MatchString(node.Label) {
				return d.Errf("node label %q: want 1-32 letters, digits, '-', '_' or '.', starting with a letter or digit", node.Label)
			}
		case "pool":
			if d.NextArg() {
				return d.Errf("node pool takes no arguments, only a block")
			}
			if node.Pool, err = unmarshalPool(d); err != nil {
				return err
			}
		default:
			return d.Errf("unknown node option %q: want label or pool", option)
		}
	}
	return nil
}

// nodeURLs are the reverse_proxy upstreams of the directive.
func (h *Handler) nodeURLs() []string {
	if !h.multiNode() {
		return []string{h.BeeURL}
	}
	urls := make([]string, len(h.Nodes))
	for i, n := range h.Nodes {
		urls[i] = n.URL
	}
	return urls
}

// balanceOverNodes makes the directive's reverse_proxy batch-aware: lb_policy bee (the
// user may give it with a fallback policy, no other). Unless the user configured them:
// passive health checks (a node that fails to connect or answers 502, 503 (syncing) or 504
// counts as down for 30s), active ones (GET /readiness every 10s: a syncing node is not
// ready), and one retry per other node (a download whose node cannot be dialled goes to the
// next node; an upload pinned to a node is never sent to another by the proxy: the bee
// handler replays it there with that node's batch).
func balanceOverNodes(proxy *reverseproxy.Handler) error {
	if proxy.LoadBalancing == nil {
		proxy.LoadBalancing = new(reverseproxy.LoadBalancing)
	}
	if raw := proxy.LoadBalancing.SelectionPolicyRaw; raw != nil {
		var named struct {
			Policy string `json:"policy"`
		}
		if err := json.Unmarshal(raw, &named); err != nil || named.Policy != "bee" {
			return fmt.Errorf("bee with several nodes needs lb_policy bee (a batch stamps only on its node), not %q; "+
				"give the other policy as its fallback: lb_policy bee %s", named.Policy, named.Policy)
		}
	} else {
		proxy.LoadBalancing.SelectionPolicyRaw = caddyconfig.JSONModuleObject(BeeSelection{}, "policy", "bee", nil)
	}
	if proxy.HealthChecks == nil {
		proxy.HealthChecks = new(reverseproxy.HealthChecks)
	}
	if proxy.HealthChecks.Passive == nil {
		proxy.HealthChecks.Passive = &reverseproxy.PassiveHealthChecks{
			FailDuration:    caddy.Duration(nodeAvoidTime),
			MaxFails:        1,
			UnhealthyStatus: []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		}
	}
	if proxy.HealthChecks.Active == nil {
		proxy.HealthChecks.Active = &reverseproxy.ActiveHealthChecks{
			URI:      "/readiness",
			Interval: caddy.Duration(defaultNodeHealthInterval),
			Timeout:  caddy.Duration(defaultNodeHealthTimeout),
		}
	}
	if proxy.LoadBalancing.Retries == 0 && proxy.LoadBalancing.TryDuration == 0 {
		proxy.LoadBalancing.Retries = len(proxy.Upstreams) - 1
	}
	return nil
}

// The active health check of each node, by default.
const (
	defaultNodeHealthInterval = 10 * time.Second
	defaultNodeHealthTimeout  = 5 * time.Second
)

func (h *Handler) unmarshalCoalesce(d *caddyfile.Dispenser) error {
	if h.Coalesce != nil {
		return d.Errf("coalesce: declared twice")
	}
	h.Coalesce = new(CoalesceConfig)
	if d.NextArg() {
		switch d.Val() {
		case "off":
			h.Coalesce.Disabled = true
		case "on":
		default:
			return d.Errf("coalesce %q: want on, off or a block", d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		var value string
		if err := singleArg(d, "coalesce "+option, &value); err != nil {
			return err
		}
		switch option {
		case "memory_window":
			size, err := humanize.ParseBytes(value)
			if err != nil || size > 1<<40 {
				return d.Errf("coalesce memory_window %q: want a size such as 8MiB", value)
			}
			h.Coalesce.MemoryWindow = int64(size)
		case "max_wait":
			dur, err := parseDuration(d, "coalesce max_wait", value)
			if err != nil {
				return err
			}
			h.Coalesce.MaxWait = dur
		case "max_memory", "max_spill":
			size, err := humanize.ParseBytes(value)
			if err != nil || size > 1<<50 {
				return d.Errf("coalesce %s %q: want a size such as 256MiB", option, value)
			}
			if option == "max_memory" {
				h.Coalesce.MaxMemory = int64(size)
			} else {
				h.Coalesce.MaxSpill = int64(size)
			}
		case "spill_dir":
			h.Coalesce.SpillDir = value
		case "stall_timeout":
			dur, err := parseDuration(d, "coalesce stall_timeout", value)
			if err != nil {
				return err
			}
			h.Coalesce.StallTimeout = dur
		default:
			return d.Errf("unknown coalesce option %q: want memory_window, max_wait, max_memory, max_spill, spill_dir or stall_timeout", option)
		}
	}
	return nil
}

func unmarshalPool(d *caddyfile.Dispenser) (*PoolConfig, error) {
	p := new(PoolConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		if option == "reserve" {
			args := d.RemainingArgs()
			if len(args) != 2 {
				return nil, d.Errf("pool reserve: want `reserve <depth|small|medium|large> <count>`")
			}
			depth, ok := sizeDepths[args[0]]
			if !ok {
				n, err := strconv.Atoi(args[0])
				if err != nil {
					return nil, d.Errf("pool reserve %q: want a depth (%d..%d) or small/medium/large", args[0], minDepth, maxDepth)
				}
				depth = n
			}
			count, err := strconv.Atoi(args[1])
			if err != nil || count < 0 {
				return nil, d.Errf("pool reserve %s count %q: want a whole number >= 0", args[0], args[1])
			}
			if p.Reserve == nil {
				p.Reserve = map[int]int{}
			}
			if _, dup := p.Reserve[depth]; dup {
				return nil, d.Errf("pool reserve depth %d: declared twice", depth)
			}
			p.Reserve[depth] = count
			if err := validateReserve(p.Reserve); err != nil {
				return nil, d.Err(err.Error())
			}
			continue
		}
		var value string
		if err := singleArg(d, "pool "+option, &value); err != nil {
			return nil, err
		}
		name := "pool " + option
		var err error
		switch option {
		case "duration":
			p.Duration, err = parseDuration(d, name, value)
		case "min_ttl":
			p.MinTTL, err = parseDuration(d, name, value)
		case "topup":
			p.TopUp, err = parseDuration(d, name, value)
		case "check_interval":
			p.CheckInterval, err = parseDuration(d, name, value)
		case "purchase_spacing":
			p.PurchaseSpacing, err = parseDuration(d, name, value)
		case "block_time":
			p.BlockTime, err = parseDuration(d, name, value)
		case "purchase_timeout":
			p.PurchaseTimeout, err = parseDuration(d, name, value)
		case "purchase_backoff":
			p.PurchaseBackoff, err = parseDuration(d, name, value)
		case "immediate_replenish":
			p.ImmediateReplenish, err = parseOnOff(d, name, value)
		case "acquire_fallback":
			p.AcquireFallback, err = parseOnOff(d, name, value)
		case "usage_max":
			f, perr := strconv.ParseFloat(value, 64)
			if perr != nil || f <= 0 || f > 1 {
				return nil, d.Errf("%s %q: want a fraction in (0, 1], e.g. 0.8", name, value)
			}
			p.UsageMax = f
		case "max_purchases_per_hour":
			n, perr := strconv.Atoi(value)
			if perr != nil || n < 0 {
				return nil, d.Errf("%s %q: want a whole number >= 0 (0 stops all spending)", name, value)
			}
			p.MaxPurchasesPerHour = &n
		case "label_prefix":
			if !validLabelPrefix(value) {
				return nil, d.Errf("%s %q: want 1-32 letters, digits, '-' or '_'", name, value)
			}
			p.LabelPrefix = value
		default:
			return nil, d.Errf("unknown pool option %q: want reserve, duration, min_ttl, topup, check_interval, "+
				"immediate_replenish, usage_max, max_purchases_per_hour, purchase_spacing, block_time, "+
				"label_prefix, acquire_fallback, purchase_timeout or purchase_backoff", option)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func validLabelPrefix(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func singleArg(d *caddyfile.Dispenser, name string, dst *string) error {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.Errf("%s: want exactly one value, got %d", name, len(args))
	}
	*dst = args[0]
	return nil
}

func onOff(d *caddyfile.Dispenser, name string) (bool, error) {
	var value string
	if err := singleArg(d, name, &value); err != nil {
		return false, err
	}
	b, err := parseOnOff(d, name, value)
	if err != nil {
		return false, err
	}
	return *b, nil
}

func parseOnOff(d *caddyfile.Dispenser, name, value string) (*bool, error) {
	switch strings.ToLower(value) {
	case "on", "true":
		b := true
		return &b, nil
	case "off", "false":
		b := false
		return &b, nil
	}
	return nil, d.Errf("%s %q: want on or off", name, value)
}

func parseDuration(d *caddyfile.Dispenser, name, value string) (caddy.Duration, error) {
	dur, err := caddy.ParseDuration(value)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s %q: want a positive duration such as 30s, 15m or 168h", name, value)
	}
	return caddy.Duration(dur), nil
}
