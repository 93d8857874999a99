package coalesce

import (
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
)

// Key returns the coalescing key of r, or ok=false when r must bypass coalescing.
//
// The key covers the method, scheme, host, path and query, and the request headers that
// can change Bee's answer: Range, If-*, Origin, Accept-Encoding and every Swarm-* header
// (names case-insensitive, values exact and in order). Every field is length-prefixed, so
// two different requests never share a key.
//
// Bypass: methods other than GET and HEAD, requests carrying a body, Authorization or
// Cookie (private answers), upgrades (Connection: upgrade or an Upgrade header) and event
// streams (Accept: text/event-stream).
func Key(r *http.Request) (key string, ok bool) {
	b, ok := appendKey(nil, r)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendKey appends r's key to dst; ServeHTTP builds it in a stack buffer and allocates
// the string only when it starts a flight.
func appendKey(dst []byte, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, false
	}
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		return nil, false
	}
	var nameStore [8]string
	names := nameStore[:0]
	for name, values := range r.Header {
		switch classifyHeader(name) {
		case headerPrivate:
			return nil, false
		case headerUpgrade:
			if hasNonEmpty(values) {
				return nil, false
			}
		case headerConnection:
			if hasToken(values, "upgrade") {
				return nil, false
			}
		case headerAccept:
			if containsFold(values, "text/event-stream") {
				return nil, false
			}
		case headerKeyed:
			names = append(names, name)
		}
	}
	if len(names) > 1 {
		slices.SortFunc(names, compareHeaderNames)
	}

	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var path, rawPath, query string
	if r.URL != nil {
		path, rawPath, query = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	}

	size := len(r.Method) + len(scheme) + len(host) + len(path) + len(rawPath) + len(query) + 6*binary.MaxVarintLen64
	for _, name := range names {
		size += len(name) + 2*binary.MaxVarintLen64
		for _, v := range r.Header[name] {
			size += len(v) + binary.MaxVarintLen64
		}
	}
	b := slices.Grow(dst, size)
	for _, field := range [...]string{r.Method, scheme, host, path, rawPath, query} {
		b = appendField(b, field)
	}
	for _, name := range names {
		b = binary.AppendUvarint(b, uint64(len(name)))
		for i := 0; i < len(name); i++ {
			b = append(b, lowerASCII(name[i]))
		}
		values := r.Header[name]
		b = binary.AppendUvarint(b, uint64(len(values)))
		for _, v := range values {
			b = appendField(b, v)
		}
	}
	return b, true
}

type headerClass uint8

const (
	headerOther      headerClass = iota
	headerKeyed                  // part of the key
	headerPrivate                // Authorization, Cookie: bypass
	headerUpgrade                // Upgrade: bypass when set
	headerConnection             // Connection: bypass on the upgrade token
	headerAccept                 // Accept: bypass for event streams
)

// classifyHeader sorts a request header name (any case) for Key. It switches on the
// length first: this runs for every header of every GET.
func classifyHeader(name string) headerClass {
	switch len(name) {
	case 5:
		if strings.EqualFold(name, "Range") {
			return headerKeyed
		}
	case 6:
		switch {
		case strings.EqualFold(name, "Origin"):
			return headerKeyed
		case strings.EqualFold(name, "Cookie"):
			return headerPrivate
		case strings.EqualFold(name, "Accept"):
			return headerAccept
		}
	case 7:
		if strings.EqualFold(name, "Upgrade") {
			return headerUpgrade
		}
	case 10:
		if strings.EqualFold(name, "Connection") {
			return headerConnection
		}
	case 13:
		if strings.EqualFold(name, "Authorization") {
			return headerPrivate
		}
	case 15:
		if strings.EqualFold(name, "Accept-Encoding") {
			return headerKeyed
		}
	}
	if hasPrefixFold(name, "If-") || hasPrefixFold(name, "Swarm-") {
		return headerKeyed
	}
	return headerOther
}

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// compareHeaderNames orders names case-insensitively, then exactly, so the order is total
// even for a hand-built header map holding both "swarm-x" and "Swarm-X".
func compareHeaderNames(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lowerASCII(a[i]), lowerASCII(b[i])
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasNonEmpty(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// hasToken reports whether a comma-separated header list holds token (case-insensitive).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

func containsFold(values []string, sub string) bool {
	for _, v := range values {
		if strings.Contains(strings.ToLower(v), sub) {
			return true
		}
	}
	return false
}

// keyBufSize is the stack buffer ServeHTTP builds a key in; longer keys grow on the heap.
const keyBufSize = 512
