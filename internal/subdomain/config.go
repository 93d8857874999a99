package subdomain

// Config makes the gateway serve every Swarm site on an origin of its own:
// `<cid>.<base>/<path>` is served as `/bzz/<ref>/<path>`.
type Config struct {
	// Bases are the base domains, e.g. `bzz.example.com`; a request to `<label>.<base>`
	// is a content request when `<label>` is a Swarm CID (base32 CIDv1, codec
	// swarm-manifest 0xfa or swarm-feed 0xfb, keccak-256 multihash).
	Bases []string `json:"bases,omitempty"`

	// ENS serves any other label under a base as the ENS name `<label>.eth` (mutable
	// content; Bee must be started with an ENS resolver).
	ENS bool `json:"ens,omitempty"`
}

// Hosts are the hosts c serves (nil: no subdomains).
func (c *Config) Hosts() (*Hosts, error) {
	if c == nil {
		return nil, nil
	}
	return NewHosts(c.Bases, c.ENS)
}
