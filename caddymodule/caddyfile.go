package caddymodule

import (
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/swarmgate/caddy-bee/internal/caddyfileopts"
	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

func init() {
	httpcaddyfile.RegisterDirective("bee", parseBeeDirective)
	httpcaddyfile.RegisterDirectiveOrder("bee", httpcaddyfile.Before, "reverse_proxy")
}

// parseBeeDirective expands `bee <url> { ... }` into one route holding the bee handler and
// Caddy's own reverse_proxy to the same URL, as forward_auth does for its proxy. The grammar,
// with every default, is in README.md (Configuration).
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
		var err error
		if parse, ok := beeBlocks[d.Val()]; ok {
			err = parse(h, d)
		} else if _, ok := beeValues[d.Val()]; ok {
			err = caddyfileopts.BlockOption(d, h, "", beeValues, "")
		} else {
			err = d.Errf("unknown bee option %q: want node, pool, inject, coalesce, cors, api_prefix, admin_token, routes, subdomains, ens, max_replay_memory, upload_idle_timeout or reverse_proxy", d.Val())
		}
		if err != nil {
			return err
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

// options reads the option blocks with Caddy's durations (internal/caddyfileopts).
var options = caddyfileopts.Parser[caddy.Duration]{ParseDuration: caddy.ParseDuration}

// beeValues are the bee block's `<option> <value>` lines.
var beeValues = map[string]func(*Handler, string, string) error{
	"inject":              caddyfileopts.Field(func(h *Handler) **bool { return &h.Inject }, caddyfileopts.ParseOnOff),
	"api_prefix":          caddyfileopts.Field(func(h *Handler) *string { return &h.APIPrefix }, caddyfileopts.Checked(routepolicy.CheckAPIPrefix)),
	"admin_token":         caddyfileopts.Field(func(h *Handler) *string { return &h.AdminToken }, caddyfileopts.AnyString),
	"routes":              caddyfileopts.Field(func(h *Handler) *string { return &h.Routes }, caddyfileopts.ParseRoutes),
	"max_replay_memory":   caddyfileopts.Field(func(h *Handler) *int64 { return &h.MaxReplayMemory }, caddyfileopts.ParseReplayMemory),
	"upload_idle_timeout": caddyfileopts.Field(func(h *Handler) *caddy.Duration { return &h.UploadIdleTimeout }, options.Duration),
	"ens":                 caddyfileopts.Field(func(h *Handler) *bool { return &h.subdomains().ENS }, caddyfileopts.ParseSwitch),
}

// beeBlocks parse the bee block's other options, each from its name on.
var beeBlocks = map[string]func(*Handler, *caddyfile.Dispenser) error{
	"node":       func(h *Handler, d *caddyfile.Dispenser) error { return options.Node(d, h.Nodes) },
	"coalesce":   (*Handler).unmarshalCoalesce,
	"cache":      (*Handler).unmarshalCache,
	"cors":       (*Handler).unmarshalCORS,
	"subdomains": func(h *Handler, d *caddyfile.Dispenser) error { return caddyfileopts.Subdomains(d, h.subdomains) },
	"pool": func(h *Handler, d *caddyfile.Dispenser) (err error) {
		if h.Pool != nil {
			return d.Errf("pool: declared twice")
		}
		h.Pool, err = options.Pool(d, "pool")
		return err
	},
	"reverse_proxy": func(h *Handler, d *caddyfile.Dispenser) error {
		if h.proxySegment != nil {
			return d.Errf("reverse_proxy: declared twice")
		}
		if d.CountRemainingArgs() > 0 {
			return d.Errf("reverse_proxy inside bee takes no upstream (the Bee URL is the upstream), only a block of reverse_proxy options")
		}
		h.proxySegment = d.NextSegment()
		return nil
	},
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
			FailDuration:    caddy.Duration(nodes.AvoidTime),
			MaxFails:        1,
			UnhealthyStatus: nodes.UnhealthyStatus(),
		}
	}
	if proxy.HealthChecks.Active == nil {
		proxy.HealthChecks.Active = &reverseproxy.ActiveHealthChecks{
			URI:      nodes.HealthURI,
			Interval: caddy.Duration(nodes.HealthInterval),
			Timeout:  caddy.Duration(nodes.HealthTimeout),
		}
	}
	if proxy.LoadBalancing.Retries == 0 && proxy.LoadBalancing.TryDuration == 0 {
		proxy.LoadBalancing.Retries = len(proxy.Upstreams) - 1
	}
	return nil
}
