package caddymodule

import (
	"context"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/caddyfileopts"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

func init() {
	caddy.RegisterModule(TLSPermission{})
}

// TLSPermission approves on-demand TLS certificates only for the hosts of a Swarm subdomain
// gateway: `<cid>.<base>` where `<cid>` is a valid Swarm CID (and `<name>.<base>` when ENS is
// on). It needs no external "ask" service, so nobody can make Caddy request certificates for
// junk or foreign names.
//
// Caddyfile (global options):
//
//	on_demand_tls {
//	    permission bee <base-domain>... {
//	        ens on|off
//	    }
//	}
type TLSPermission struct {
	// Bases are the base domains whose Swarm CID subdomains may get certificates.
	Bases []string `json:"bases,omitempty"`

	// ENS also approves ENS-name subdomains (`<name>.<base>`). Every valid DNS name under a
	// base then qualifies, so consider a wildcard certificate instead.
	ENS bool `json:"ens,omitempty"`

	hosts  *subdomain.Hosts
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (TLSPermission) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.permission.bee",
		New: func() caddy.Module { return new(TLSPermission) },
	}
}

// Provision validates the base domains.
func (p *TLSPermission) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	hosts, err := subdomain.NewHosts(p.Bases, p.ENS)
	if err != nil {
		return fmt.Errorf("tls.permission.bee: %w", err)
	}
	p.hosts = hosts
	return nil
}

// CertificateAllowed approves name when it is a Swarm site's host under a base domain.
func (p *TLSPermission) CertificateAllowed(_ context.Context, name string) error {
	if err := p.hosts.Allowed(name); err != nil {
		p.logger.Debug("on-demand certificate refused", zap.String("name", name), zap.Error(err))
		return fmt.Errorf("%w: %v", caddytls.ErrPermissionDenied, err)
	}
	return nil
}

// UnmarshalCaddyfile reads `permission bee <base>... { ens on|off }`.
func (p *TLSPermission) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if !d.Next() {
		return d.Err("permission bee: want `permission bee <base-domain>...`")
	}
	p.Bases = d.RemainingArgs()
	if len(p.Bases) == 0 {
		return d.Err("permission bee: want one or more base domains, e.g. `permission bee bzz.example.com`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() != "ens" {
			return d.Errf("unknown permission bee option %q: want ens", d.Val())
		}
		var err error
		if p.ENS, err = caddyfileopts.OnOff(d, "permission bee ens"); err != nil {
			return err
		}
	}
	if _, err := subdomain.NewHosts(p.Bases, p.ENS); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*TLSPermission)(nil)
	_ caddytls.OnDemandPermission = (*TLSPermission)(nil)
	_ caddyfile.Unmarshaler       = (*TLSPermission)(nil)
)
