package caddymodule

import "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

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
			if node.Pool, err = unmarshalPool(d, "node pool"); err != nil {
				return err
			}
		default:
			return d.Errf("unknown node option %q: want label or pool", option)
		}
	}
	return nil
}
