package subdomain

import (
	"fmt"
	"net"
	"strings"
)

// Hosts recognises the hosts of a subdomain gateway: `<label>.<base>` for each configured
// base domain.
type Hosts struct {
	bases []string // lower case, each with a leading dot
	ens   bool
}

// Site is the Swarm content a gateway host stands for.
type Site struct {
	// Root is the /bzz path the host's paths live under: /bzz/<ref> or /bzz/<name>.eth.
	Root string
	// Immutable is true for a manifest CID: its bytes never change. Feed CIDs and ENS names
	// follow their feed or name and are mutable.
	Immutable bool
}

// maxENSName bounds the names taken as ENS under a base (DNS allows 253 for the whole host).
const maxENSName = 200

// NewHosts validates the base domains (e.g. `bzz.example.com`). With ens, labels that are not
// CIDs name ENS sites.
func NewHosts(bases []string, ens bool) (*Hosts, error) {
	if len(bases) == 0 {
		return nil, fmt.Errorf("subdomains: want at least one base domain, e.g. bzz.example.com")
	}
	h := &Hosts{ens: ens}
	for _, b := range bases {
		b = strings.ToLower(strings.TrimSuffix(b, "."))
		if !validDNSName(b) || !strings.Contains(b, ".") && b != "localhost" {
			return nil, fmt.Errorf("subdomains: base domain %q: want a DNS name such as bzz.example.com (no scheme, port, path or wildcard)", b)
		}
		for _, seen := range h.bases {
			if seen == "."+b {
				return nil, fmt.Errorf("subdomains: base domain %q given twice", b)
			}
		}
		h.bases = append(h.bases, "."+b)
	}
	return h, nil
}

// Bases returns the configured base domains.
func (h *Hosts) Bases() []string {
	out := make([]string, len(h.bases))
	for i, b := range h.bases {
		out[i] = b[1:]
	}
	return out
}

// Match reports whether host (a Host header, port allowed) lies under a base domain. When it
// does, err says why its label names no site (a junk label, an ENS name with ENS off);
// otherwise site is the content it serves.
func (h *Hosts) Match(host string) (site Site, under bool, err error) {
	name := strings.ToLower(strings.TrimSuffix(HostName(host), "."))
	label, ok := h.label(name)
	if !ok {
		return Site{}, false, nil
	}
	site, err = h.site(label)
	return site, true, err
}

// Allowed tells whether name (a TLS server name) is a host this gateway serves content on, so
// that an on-demand certificate may be issued for it. Base domains themselves are not.
func (h *Hosts) Allowed(name string) error {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	label, ok := h.label(name)
	if !ok {
		return fmt.Errorf("%q is not under a Swarm subdomain base (%s)", name, strings.Join(h.Bases(), ", "))
	}
	_, err := h.site(label)
	return err
}

// label returns what stands left of the longest matching base.
func (h *Hosts) label(name string) (string, bool) {
	best := ""
	for _, b := range h.bases {
		if strings.HasSuffix(name, b) && len(name) > len(b) && len(b) > len(best) {
			best = b
		}
	}
	if best == "" {
		return "", false
	}
	return name[:len(name)-len(best)], true
}

func (h *Hosts) site(label string) (Site, error) {
	if !strings.Contains(label, ".") {
		if ref, codec, err := ParseCID(label); err == nil {
			return Site{Root: "/bzz/" + ref, Immutable: codec == CodecManifest}, nil
		}
	}
	if !h.ens {
		return Site{}, fmt.Errorf("%q is not a Swarm CID (a base32 CIDv1 of a Swarm manifest or feed; "+
			"GET <api_prefix>/subdomain/<reference> gives the right host)", label)
	}
	if len(label) > maxENSName || !validDNSName(label) {
		return Site{}, fmt.Errorf("%q is neither a Swarm CID nor a valid ENS name", label)
	}
	return Site{Root: "/bzz/" + label + ".eth"}, nil
}

// HostName is host (a Host header) without its port.
func HostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// validDNSName: dot-separated labels of 1-63 letters, digits and inner hyphens.
func validDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
