package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/swarmgate/caddy-bee/internal/inject"
	"github.com/swarmgate/caddy-bee/internal/nodes"
)

func init() {
	caddy.RegisterModule(BeeSelection{})
}

// BeeSelection is reverse_proxy's batch-aware selection policy (`lb_policy bee`) for a bee
// handler in front of several Bee nodes. A postage batch stamps only on the node that bought
// it, so a request the bee handler pinned to a node (an upload it injected with that node's
// batch, or one carrying a batch the node's pool issued) goes to that node, or to none when
// the node is unavailable. Every other request goes by the fallback policy: by default a hash
// of the URI, so each reference is retrieved and cached by one node.
type BeeSelection struct {
	// FallbackRaw selects the node of requests the bee handler did not pin.
	// Default: `uri_hash`.
	FallbackRaw json.RawMessage `json:"fallback,omitempty" caddy:"namespace=http.reverse_proxy.selection_policies inline_key=policy"`

	fallback reverseproxy.Selector
}

// CaddyModule returns the Caddy module information.
func (BeeSelection) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.selection_policies.bee",
		New: func() caddy.Module { return new(BeeSelection) },
	}
}

// Provision loads the fallback policy.
func (s *BeeSelection) Provision(ctx caddy.Context) error {
	if s.FallbackRaw == nil {
		s.FallbackRaw = caddyconfig.JSONModuleObject(reverseproxy.URIHashSelection{}, "policy", "uri_hash", nil)
	}
	mod, err := ctx.LoadModule(s, "FallbackRaw")
	if err != nil {
		return fmt.Errorf("lb_policy bee: loading the fallback policy: %w", err)
	}
	s.fallback = mod.(reverseproxy.Selector)
	return nil
}

// Select returns the node the bee handler pinned the request to, if it is available, and
// otherwise what the fallback policy selects.
func (s *BeeSelection) Select(upstreams reverseproxy.UpstreamPool, r *http.Request, w http.ResponseWriter) *reverseproxy.Upstream {
	upstreamsSeen.Observe(upstreams, upstreamDial)
	if dial, ok := caddyhttp.GetVar(r.Context(), nodeVar).(string); ok && dial != "" {
		return nodes.Pinned(upstreams, dial, upstreamDial)
	}
	return s.fallback.Select(upstreams, r, w)
}

// UnmarshalCaddyfile reads `lb_policy bee [<fallback policy> [<its options>...]]`.
func (s *BeeSelection) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // policy name
	if !d.NextArg() {
		return nil
	}
	name := d.Val()
	if name == "bee" {
		return d.Err("lb_policy bee: the fallback policy cannot be bee itself; try uri_hash, least_conn or round_robin")
	}
	modID := "http.reverse_proxy.selection_policies." + name
	unm, err := caddyfile.UnmarshalModule(d, modID)
	if err != nil {
		return err
	}
	sel, ok := unm.(reverseproxy.Selector)
	if !ok {
		return d.Errf("lb_policy bee: module %s (%T) is not a selection policy", modID, unm)
	}
	s.FallbackRaw = caddyconfig.JSONModuleObject(sel, "policy", name, nil)
	return nil
}

// upstreamsSeen is what lb_policy bee last saw of each node (internal/nodes.Availability).
var upstreamsSeen nodes.Availability[*reverseproxy.Upstream]

func upstreamDial(u *reverseproxy.Upstream) string { return u.Dial }

// nodeVar is the request variable through which the bee handler tells the bee selection
// policy (lb_policy bee) which node a request must reach: the node's dial address.
const nodeVar = "bee.node"

// routeTo pins the request to node for lb_policy bee.
func routeTo(r *http.Request, n *nodes.Member) {
	caddyhttp.SetVar(r.Context(), nodeVar, n.Dial)
}

// routeClientBatch sends an upload that carries its own batch (or pre-signed stamp) to the
// node that owns the batch, when one of the pools issued it. Other uploads take the
// fallback policy: the batch is not the gateway's to place.
func (h *Handler) routeClientBatch(r *http.Request) {
	if n, ok := nodes.Owner(r.Context(), h.nodes, inject.ClientBatchID(r.Header)); ok {
		routeTo(r, n)
	}
}

// Interface guards
var (
	_ reverseproxy.Selector = (*BeeSelection)(nil)
	_ caddy.Provisioner     = (*BeeSelection)(nil)
	_ caddyfile.Unmarshaler = (*BeeSelection)(nil)
)
