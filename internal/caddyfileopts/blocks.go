package caddyfileopts

import (
	"fmt"
	"slices"

	"github.com/dustin/go-humanize"

	"github.com/swarmgate/caddy-bee/internal/bee"
	"github.com/swarmgate/caddy-bee/internal/cache"
	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/cors"
	"github.com/swarmgate/caddy-bee/internal/inject"
	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// Node reads `node <bee-api-url> { label <name>  pool { ... } }`: the label and pool of the
// entry of list (the directive's nodes) with that URL.
func (p Parser[D]) Node(d Dispenser, list []nodes.Config[D]) error {
	if len(list) == 0 {
		return d.Errf("node blocks are for several nodes: list their URLs after bee (`bee <url> <url>...`)")
	}
	var raw string
	if err := SingleArg(d, "node", &raw); err != nil {
		return err
	}
	nodeURL, err := bee.NormalizeURL(raw)
	if err != nil {
		return d.Errf("node URL: %v", err)
	}
	i := slices.IndexFunc(list, func(n nodes.Config[D]) bool { return n.URL == nodeURL })
	if i < 0 {
		return d.Errf("node %s is not one of the bee directive's URLs; list it after bee", nodeURL)
	}
	node, seen := &list[i], map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		if seen[option] {
			return d.Errf("node %s: %s declared twice", nodeURL, option)
		}
		seen[option] = true
		switch option {
		case "label":
			err = oneValue(d, "node label", &node.Label, nodes.ParseLabel)
		case "pool":
			node.Pool, err = p.Pool(d, "node pool")
		default:
			err = d.Errf("unknown node option %q: want label or pool", option)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Pool reads a pool block; name is how errors call it (`pool`, `node pool`).
func (p Parser[D]) Pool(d Dispenser, name string) (*pool.Block[D], error) {
	if d.NextArg() {
		return nil, d.Errf("%s takes no arguments, only a block", name)
	}
	b, options := new(pool.Block[D]), p.poolOptions()
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		if d.Val() == "reserve" {
			err = reserve(d, &b.Reserve)
		} else {
			err = BlockOption(d, b, "pool", options, "unknown pool option %q: want reserve, duration, min_ttl, topup, check_interval, "+
				"immediate_replenish, usage_max, max_purchases_per_hour, purchase_spacing, block_time, "+
				"label_prefix, acquire_fallback, purchase_timeout or purchase_backoff")
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// reserve reads `reserve <depth|small|medium|large> <count>`.
func reserve(d Dispenser, dst *map[int]int) (err error) {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.Errf("pool reserve: want `reserve <depth|small|medium|large> <count>`")
	}
	if *dst, err = pool.AddReserve(*dst, args[0], args[1]); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

func (p Parser[D]) poolOptions() map[string]func(*pool.Block[D], string, string) error {
	type block = pool.Block[D]
	return map[string]func(*block, string, string) error{
		"duration":               Field(func(b *block) *D { return &b.Duration }, p.Duration),
		"min_ttl":                Field(func(b *block) *D { return &b.MinTTL }, p.Duration),
		"topup":                  Field(func(b *block) *D { return &b.TopUp }, p.Duration),
		"check_interval":         Field(func(b *block) *D { return &b.CheckInterval }, p.Duration),
		"purchase_spacing":       Field(func(b *block) *D { return &b.PurchaseSpacing }, p.Duration),
		"block_time":             Field(func(b *block) *D { return &b.BlockTime }, p.Duration),
		"purchase_timeout":       Field(func(b *block) *D { return &b.PurchaseTimeout }, p.Duration),
		"purchase_backoff":       Field(func(b *block) *D { return &b.PurchaseBackoff }, p.Duration),
		"immediate_replenish":    Field(func(b *block) **bool { return &b.ImmediateReplenish }, ParseOnOff),
		"acquire_fallback":       Field(func(b *block) **bool { return &b.AcquireFallback }, ParseOnOff),
		"usage_max":              Field(func(b *block) *float64 { return &b.UsageMax }, pool.ParseUsageMax),
		"max_purchases_per_hour": Field(func(b *block) **int { return &b.MaxPurchasesPerHour }, pool.ParsePurchaseCap),
		"label_prefix":           Field(func(b *block) *string { return &b.LabelPrefix }, pool.ParseLabelPrefix),
	}
}

// Coalesce reads `coalesce on|off` or `coalesce { <option> <value>... }`.
func (p Parser[D]) Coalesce(d Dispenser) (*coalesce.Config[D], error) {
	type config = coalesce.Config[D]
	c := new(config)
	options := map[string]func(*config, string, string) error{
		"memory_window": Field(func(c *config) *int64 { return &c.MemoryWindow }, sizeUpTo(1<<40, "8MiB")),
		"max_wait":      Field(func(c *config) *D { return &c.MaxWait }, p.Duration),
		"max_memory":    Field(func(c *config) *int64 { return &c.MaxMemory }, sizeUpTo(1<<50, "256MiB")),
		"max_spill":     Field(func(c *config) *int64 { return &c.MaxSpill }, sizeUpTo(1<<50, "256MiB")),
		"spill_dir":     Field(func(c *config) *string { return &c.SpillDir }, AnyString),
		"stall_timeout": Field(func(c *config) *D { return &c.StallTimeout }, p.Duration),
	}
	return c, onOffBlock(d, "coalesce", c, &c.Disabled, options,
		"unknown coalesce option %q: want memory_window, max_wait, max_memory, max_spill, spill_dir or stall_timeout")
}

var cacheOptions = map[string]func(*cache.Config, string, string) error{
	"memory": Field(func(c *cache.Config) *int64 { return &c.Memory }, sizeUpTo(1<<50, "64MiB or 10GiB")),
	"disk":   Field(func(c *cache.Config) *int64 { return &c.Disk }, sizeUpTo(1<<50, "64MiB or 10GiB")),
	"dir":    Field(func(c *cache.Config) *string { return &c.Dir }, AnyString),
}

// Cache reads `cache on|off` or `cache { memory <size> disk <size> dir <path> }`.
func Cache(d Dispenser) (*cache.Config, error) {
	c := new(cache.Config)
	return c, onOffBlock(d, "cache", c, &c.Disabled, cacheOptions, "unknown cache option %q: want memory, disk or dir")
}

// CORS reads `cors off`, `cors <origin>...` and an optional block `{ api <origin>... }`.
func CORS(d Dispenser) (*cors.Config, error) {
	c := new(cors.Config)
	if args := d.RemainingArgs(); len(args) == 1 && args[0] == "off" {
		c.Disabled = true
	} else if slices.Contains(args, "off") {
		return nil, d.Errf("cors: `off` stands alone; to allow origins, list them without it")
	} else if len(args) > 0 {
		c.Origins = args
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() != "api" {
			return nil, d.Errf("unknown cors option %q: want api", d.Val())
		}
		if c.APIOrigins != nil {
			return nil, d.Errf("cors api: declared twice")
		}
		if c.APIOrigins = d.RemainingArgs(); len(c.APIOrigins) == 0 {
			return nil, d.Errf("cors api: want one or more origins (or *) allowed on the plugin's API")
		}
	}
	if !c.Disabled && len(c.Origins) == 0 && len(c.APIOrigins) == 0 {
		return nil, d.Errf("cors: want `off`, `*` or one or more origins such as https://app.example")
	}
	if err := c.CheckOrigins(); err != nil {
		return nil, d.Err(err.Error())
	}
	return c, nil
}

// Subdomains reads `subdomains <base-domain>...` into the block get gives (which `ens`
// may have created first).
func Subdomains(d Dispenser, get func() *subdomain.Config) error {
	bases := d.RemainingArgs()
	if len(bases) == 0 {
		return d.Errf("subdomains: want one or more base domains, e.g. `subdomains bzz.example.com`")
	}
	c := get()
	if len(c.Bases) > 0 {
		return d.Errf("subdomains: declared twice; list every base domain on one line")
	}
	c.Bases = bases
	if _, err := c.Hosts(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// ParseRoutes reads the routes mode: gateway or all.
func ParseRoutes(name, value string) (string, error) {
	if _, ok := routepolicy.ParseMode(value); !ok || value == "" {
		return "", fmt.Errorf("%s %q: want gateway or all", name, value)
	}
	return value, nil
}

// ParseReplayMemory reads max_replay_memory: a size of at least 1 byte, at most 1 TiB.
func ParseReplayMemory(name, value string) (int64, error) {
	size, err := humanize.ParseBytes(value)
	if err != nil || size == 0 || size > inject.MaxReplayMemoryLimit {
		return 0, fmt.Errorf("%s %q: want a size such as 64MiB (at least 1 byte, at most 1TiB)", name, value)
	}
	return int64(size), nil
}
