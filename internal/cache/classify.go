// Package cache is the gateway's content cache: answers of content-addressed Swarm routes
// never change their bytes, so a completed, intact one can serve every later request for the
// same reference without Bee. A memory tier and an optional disk tier, each bounded in bytes,
// keep the entries; otter's W-TinyLFU decides admission and eviction.
package cache

import (
	"net/http"
	"strings"
)

// CacheControl is what an immutable answer carries.
const CacheControl = "public, max-age=31536000, immutable"

// Kind is the route family of a content-addressed request.
type Kind string

// Kinds of content-addressed requests.
const (
	KindBytes  Kind = "bytes"
	KindBzz    Kind = "bzz"
	KindChunks Kind = "chunks"
)

// Target is a request for content addressed by a hex reference.
type Target struct {
	Kind Kind
	Ref  string // lower-case hex, 64 (or 128: encrypted) digits
	// Key names the entry: the path from the route on (without /v1) and the query. A /bzz
	// entry is keyed by its full path since the manifest lookup maps each path to a file.
	Key string
}

// Classify reports whether a request asks for content-addressed bytes: GET or HEAD of
// /bytes/{ref}, /bzz/{ref}/..., /chunks/{addr} (also under /v1) with a hex reference and no
// Swarm-Act* header (ACT answers depend on the requester). ENS names, feeds and SOCs are
// not hex references on these routes, so they never match; a feed manifest under /bzz/{hex}
// is told apart by its answer (Immutable).
func Classify(method, path, rawQuery string, h http.Header) (Target, bool) {
	return classify(method, path, rawQuery, h, true)
}

// classify is Classify; without withKey, Target.Key stays empty (building it allocates).
func classify(method, path, rawQuery string, h http.Header, withKey bool) (Target, bool) {
	if method != http.MethodGet && method != http.MethodHead {
		return Target{}, false
	}
	for name := range h {
		if len(name) >= 9 && strings.EqualFold(name[:9], "Swarm-Act") {
			return Target{}, false
		}
	}
	p := strings.TrimPrefix(path, "/v1")
	var kind Kind
	var rest string
	switch {
	case strings.HasPrefix(p, "/bytes/"):
		kind, rest = KindBytes, p[len("/bytes/"):]
	case strings.HasPrefix(p, "/bzz/"):
		kind, rest = KindBzz, p[len("/bzz/"):]
	case strings.HasPrefix(p, "/chunks/"):
		kind, rest = KindChunks, p[len("/chunks/"):]
	default:
		return Target{}, false
	}
	ref, sub, hasSub := strings.Cut(rest, "/")
	switch kind {
	case KindBytes, KindChunks:
		if hasSub && sub != "" {
			return Target{}, false
		}
	case KindBzz:
		if !hasSub {
			return Target{}, false // Bee redirects /bzz/{ref} to /bzz/{ref}/
		}
	}
	if !isHexRef(ref, kind == KindChunks) {
		return Target{}, false
	}
	ref = strings.ToLower(ref)
	if !withKey {
		return Target{Kind: kind, Ref: ref}, true
	}
	key := "/" + string(kind) + "/" + ref
	if kind == KindBzz {
		key += "/" + sub
	}
	if rawQuery != "" {
		key += "?" + rawQuery
	}
	return Target{Kind: kind, Ref: ref, Key: key}, true
}

// Immutable reports whether Bee's answer to a classified request is immutable: 200 or 206,
// with an ETag and without Swarm-Feed-Index (a feed manifest resolves to its latest update).
func Immutable(status int, h http.Header) bool {
	return (status == http.StatusOK || status == http.StatusPartialContent) &&
		firstValue(h, "Etag") != "" && firstValue(h, "Swarm-Feed-Index") == ""
}

// firstValue is h.Get(name) for a name already in canonical form ("Etag", not "ETag"),
// without canonicalising it again: this runs on every content answer.
func firstValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// isHexRef: 64 hex digits, or 128 (an encrypted reference) unless only a chunk address
// is allowed.
func isHexRef(s string, chunkOnly bool) bool {
	if len(s) != 64 && (chunkOnly || len(s) != 128) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
