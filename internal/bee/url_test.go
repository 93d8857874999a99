package bee

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizeURL(t *testing.T) {
	for raw, want := range map[string]string{
		"127.0.0.1:1633":       "http://127.0.0.1:1633",
		" http://bee:1633/ ":   "http://bee:1633",
		"https://bee.internal": "https://bee.internal",
		"http://[::1]:1633":    "http://[::1]:1633",
		"HTTP://Bee:1633":      "http://Bee:1633",
	} {
		got, err := NormalizeURL(raw)
		require.NoError(t, err, raw)
		require.Equal(t, want, got, raw)
	}
	for raw, want := range map[string]string{
		"ftp://bee:1633":       "scheme",
		"http://":              "no host",
		"http://bee:1633/api":  "only scheme, host and port",
		"http://bee:1633?x=1":  "only scheme, host and port",
		"http://u:p@bee:1633":  "only scheme, host and port",
		"http://bee:1633#frag": "only scheme, host and port",
		"http://bee:port":      "is not a URL",
	} {
		_, err := NormalizeURL(raw)
		require.ErrorContains(t, err, want, raw)
	}
}

func TestDialAddress(t *testing.T) {
	for u, want := range map[string]string{
		"http://bee:1633":   "bee:1633",
		"http://bee":        "bee:80",
		"https://bee":       "bee:443",
		"http://[::1]:1633": "[::1]:1633",
		"https://[::1]":     "[::1]:443",
	} {
		require.Equal(t, want, DialAddress(u), u)
	}
}
