package bee

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// NormalizeURL turns a configured Bee API address, `host:port` or `http(s)://host:port`,
// into `scheme://host:port`, refusing anything else (paths, queries, credentials).
func NormalizeURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := parseURL(raw, s, false)
	if err != nil {
		return "", err
	}
	return u.Scheme + "://" + u.Host, nil
}

// parseURL is the project's one check of a Bee API URL: s (raw as given, for messages) must
// be an http or https URL with a host and without query, fragment or credentials; a path is
// refused unless allowPath (a client's base URL may sit under one).
func parseURL(raw, s string, allowPath bool) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %v; want e.g. http://127.0.0.1:1633", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme %q is not supported; use http:// or https://", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host; want e.g. http://127.0.0.1:1633", raw)
	}
	if (!allowPath && u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q: only scheme, host and port are allowed in the Bee URL (no path, query or credentials)", raw)
	}
	return u, nil
}

// DialAddress is the host:port a proxy dials for a URL NormalizeURL returned.
func DialAddress(normalized string) string {
	u, err := url.Parse(normalized)
	if err != nil {
		return normalized
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}
