// Package caddymodule registers caddy-bee with Caddy: the http.handlers.bee module, its
// Caddyfile directive, provisioning, request handling and metrics. It is the only package of
// the project that imports Caddy.
package caddymodule

import (
	"cmp"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/beeroutes"
	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/poolapi"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler makes Caddy a gateway in front of an Ethereum Swarm Bee node. It sits in front of a
// reverse_proxy to Bee: it enforces the route policy, serves the plugin's own API, coalesces
// duplicate downloads and injects pool batches into uploads, then hands the request to the
// next handler (reverse_proxy) to reach Bee.
//
// The `bee` Caddyfile directive expands into this handler followed by Caddy's reverse_proxy.
// In JSON the handler can also be placed by hand in front of any reverse_proxy to Bee.
type Handler struct {
	// BeeURL is the base URL of Bee's API, e.g. `http://127.0.0.1:1633`. The stamp pool
	// calls it directly; proxied traffic goes through the next handler. Required when a
	// pool is configured.
	BeeURL string `json:"bee_url,omitempty"`

	// Nodes lists the Bee nodes of a gateway in front of several nodes of one Swarm network,
	// in place of BeeURL: each keeps a stamp pool (and ledger) of its own. The reverse_proxy
	// after the handler must have the nodes as upstreams and use `lb_policy bee`, which
	// sends every upload stamped with a node's batch to that node.
	Nodes []NodeConfig `json:"nodes,omitempty"`

	// Routes selects which Bee routes are exposed: `gateway` (the default) exposes only
	// content, health and readiness routes; `all` exposes every Bee route, spending and
	// identity routes included.
	Routes string `json:"routes,omitempty"`

	// APIPrefix is where the plugin's own JSON API (pool and coalescer stats) lives.
	// Default: `/api/v1`.
	APIPrefix string `json:"api_prefix,omitempty"`

	// AdminToken is the bearer token required by the API endpoints that spend money or
	// reveal batch ids. Placeholders such as `{env.BEE_ADMIN_TOKEN}` are expanded at
	// provision time. Empty means those endpoints always answer 401.
	AdminToken string `json:"admin_token,omitempty"`

	// Inject turns batch injection into uploads on or off. Default: on when a pool is
	// configured; it cannot be on without one.
	Inject *bool `json:"inject,omitempty"`

	// Coalesce configures request coalescing of concurrent identical GET/HEAD requests.
	// Coalescing is on by default.
	Coalesce *CoalesceConfig `json:"coalesce,omitempty"`

	// Cache configures the content cache of immutable answers. Default: on, with a 64 MiB
	// memory tier and no disk tier.
	Cache *CacheConfig `json:"cache,omitempty"`

	// Pool configures the stamp pool. Without it the gateway spends nothing.
	Pool *PoolConfig `json:"pool,omitempty"`

	// CORS configures Cross-Origin Resource Sharing. Default: every origin (`*`) on Bee's
	// routes, none on the plugin's API.
	CORS *CORSConfig `json:"cors,omitempty"`
	// Subdomains serves each Swarm site on an origin of its own, `<cid>.<base>`.
	Subdomains *SubdomainsConfig `json:"subdomains,omitempty"`
	// MaxReplayMemory bounds, in bytes, the memory that injected uploads hold together for
	// a replay (each keeps up to its first 1 MiB, so it can be sent again with another batch
	// when Bee refuses the injected one). An upload that finds the bound reached streams
	// without a copy. The bound is process-wide: set it once, or the same on every bee
	// handler. Default: 64 MiB.
	MaxReplayMemory int64 `json:"max_replay_memory,omitempty"`

	// UploadIdleTimeout ends an injected upload whose client sends nothing for this long,
	// releasing its replay copy and its connection to Bee; nothing is recorded against the
	// batch. Default: 60s.
	UploadIdleTimeout caddy.Duration `json:"upload_idle_timeout,omitempty"`

	api     *poolapi.API
	beeCORS *cors.Policy // nil: CORS left to Bee
	apiCORS *cors.Policy // nil: the API answers no CORS request
	logger  *zap.Logger

	nodes     []*beeNode       // every node, the single one included; set with the pools
	front     *beeroutes.Front // every request: Swarm sites, the API, Bee's routes
	coalescer *coalesce.Group
	cache     *cache.Cache
	cacheKey  string

	pooled []*beeNode // the nodes whose pool runtime this handler holds

	// proxySegment holds the tokens of the Caddyfile's `reverse_proxy { ... }` sub-block,
	// which the bee directive passes on to the reverse_proxy it creates.
	proxySegment caddyfile.Segment
}

// PoolConfig configures the stamp pool (internal/pool.Block documents each option).
type PoolConfig = pool.Block[caddy.Duration]

// NodeConfig is one Bee node of several (internal/nodes.Config documents it).
type NodeConfig = nodes.Config[caddy.Duration]

// beeNode is a node at run time, as the injector routes uploads to it.
type beeNode = nodes.Member

// multiNode reports whether the handler fronts several nodes (the nodes list).
func (h *Handler) multiNode() bool { return len(h.Nodes) > 0 }

// validateNodes checks the nodes list (internal/nodes.Resolve).
func validateNodes(list []NodeConfig, beeURL string) ([]NodeConfig, error) {
	_, list, err := nodes.Resolve(beeURL, list)
	return list, err
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.bee",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the handler.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	mode, ok := routepolicy.ParseMode(h.Routes)
	if !ok {
		return fmt.Errorf("routes %q: want gateway or all", h.Routes)
	}
	h.APIPrefix = cmp.Or(h.APIPrefix, routepolicy.DefaultAPIPrefix)
	var err error
	if h.BeeURL, h.Nodes, err = nodes.Resolve(h.BeeURL, h.Nodes); err != nil {
		return err
	}
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if h.Coalesce == nil || !h.Coalesce.Disabled {
		h.coalescer = coalesce.New(h.coalesceOptions())
		coalesce.RemoveStaleSpillsOnce(h.coalesceOptions().TempDir, h.logger)
	}
	if err := h.Validate(); err != nil {
		return err
	}
	if err := h.provisionCORS(); err != nil {
		return err
	}
	if err := h.provisionCache(); err != nil {
		return err
	}
	sizes, err := h.provisionPool(ctx)
	if err != nil {
		return err
	}
	h.provisionAPI(sizes)
	h.provisionRequestPath(mode)
	return nil
}

// Validate checks the configuration once provisioned.
func (h *Handler) Validate() error {
	if err := routepolicy.CheckAPIPrefix(h.APIPrefix); err != nil {
		return err
	}
	if err := h.Pool.Check(); err != nil {
		return err
	}
	if err := h.uploadGuards().Validate(); err != nil {
		return err
	}
	if err := h.Cache.Validate(); err != nil {
		return err
	}
	if _, err := h.Subdomains.Hosts(); err != nil {
		return err
	}
	if h.Inject != nil && *h.Inject && h.Pool == nil && !nodes.AnyPool(h.Nodes) {
		return fmt.Errorf("inject on needs a pool block: configure `pool { ... }` or remove `inject on`")
	}
	return h.coalesceOptions().Validate()
}

// Cleanup releases what Provision acquired.
func (h *Handler) Cleanup() error {
	h.releasePool()
	h.releaseCache()
	return nil
}

// apiEndpoint returns the part of path after the API prefix, if path is under it.
func (h *Handler) apiEndpoint(path string) (string, bool) {
	return routepolicy.APIEndpoint(h.APIPrefix, path)
}

// NormalizeBeeURL turns `host:port` or `http(s)://host:port` into `scheme://host:port`.
func NormalizeBeeURL(raw string) (string, error) { return bee.NormalizeURL(raw) }

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
