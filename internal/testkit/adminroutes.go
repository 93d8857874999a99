package testkit

import (
	"fmt"
	"strings"
)

// Ref is a well-formed Swarm reference (64 hex characters) for sample paths.
const Ref = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

// Route is one request by method and path.
type Route struct{ Method, Path string }

// AdminRoutes are Bee's routes that must never be public (docs/bee-api.md, "Routes that
// must not be public") and its other non-content routes, one or more sample paths each with
// the method Bee serves there. Under `routes gateway` each path is refused whatever the
// method and however it is spelt; this list is the one the route policy's tests and the
// gateway's end-to-end test both use.
var AdminRoutes = []Route{
	{"GET", "/stamps"}, {"POST", "/stamps/100000000/17"}, {"GET", "/stamps/" + Ref},
	{"PATCH", "/stamps/topup/" + Ref + "/1000"}, {"PATCH", "/stamps/dilute/" + Ref + "/18"},
	{"GET", "/batches"}, {"GET", "/chainstate"},
	{"GET", "/wallet"}, {"POST", "/wallet/withdraw/BZZ"},
	{"GET", "/chequebook/balance"}, {"POST", "/chequebook/deposit"}, {"GET", "/chequebook/cheque"},
	{"POST", "/stake/1000"}, {"DELETE", "/stake"}, {"GET", "/stake/withdrawable"},
	{"GET", "/transactions"}, {"DELETE", "/transactions/" + Ref},
	{"GET", "/redistributionstate"}, {"GET", "/rchash/1/aa/bb"},
	{"GET", "/loggers"}, {"PUT", "/loggers/x/debug"}, {"GET", "/debug/pprof/"}, {"GET", "/debug/pprof/heap"},
	{"GET", "/metrics"}, {"GET", "/node"}, {"GET", "/addresses"}, {"GET", "/status"}, {"GET", "/topology"},
	{"GET", "/peers"}, {"POST", "/connect/ip4/127.0.0.1/tcp/1634"}, {"GET", "/blocklist"},
	{"POST", "/welcome-message"},
	{"GET", "/pins"}, {"POST", "/pins/" + Ref}, {"POST", "/tags"}, {"GET", "/tags/1"},
	{"GET", "/accounting"}, {"GET", "/balances"}, {"GET", "/balances/" + Ref},
	{"GET", "/consumed"}, {"GET", "/consumed/" + Ref}, {"GET", "/settlements"},
	{"GET", "/settlements/" + Ref}, {"GET", "/timesettlements"},
	{"POST", "/pss/send/topic/aa"}, {"POST", "/envelope/aa"}, {"POST", "/grantee"},
}

// RefusedContentMethods are content paths the gateway serves to some methods, each with a
// method it must refuse there however the path is spelt.
var RefusedContentMethods = []Route{
	{"DELETE", "/chunks/" + Ref}, {"DELETE", "/bytes/" + Ref}, {"PUT", "/bytes"}, {"PATCH", "/bzz"},
	{"PUT", "/stewardship/" + Ref},
}

// WireSpellings are request targets, as sent on the wire, that a lax normaliser might
// resolve to route: a /v1 prefix, case, slashes, dot segments, percent-encoding, a query
// and a fragment.
func WireSpellings(route string) []string {
	rest := strings.TrimPrefix(route, "/")
	enc := "/%" + fmt.Sprintf("%02x", rest[0]) + rest[1:]
	return []string{
		route,
		"/v1" + route,
		strings.ToUpper(route),
		"/V1" + strings.ToUpper(route),
		route + "/",
		"/" + route,
		"/./" + rest,
		"/bytes/.." + route,
		"/v1/../" + rest,
		"/bzz/" + Ref + "/../.." + route,
		"/bytes/..%2F" + rest,
		"/bytes/%2e%2e/" + rest,
		"/%2F" + rest,
		enc,
		route + "?x=1",
		route + "#frag",
	}
}

// PathSpellings are decoded paths (as a router sees them after percent-decoding) that a
// lenient router could resolve to path.
func PathSpellings(path string) []string {
	trimmed := strings.TrimPrefix(path, "/")
	first, rest, _ := strings.Cut(trimmed, "/")
	out := []string{
		path, "/v1" + path, path + "/", "/" + path, "/v1/" + path, "/./" + trimmed,
		"/bytes/../" + trimmed, "/v1/bytes/../.." + path, "/bzz/" + Ref + "/../../" + trimmed,
		"/health/.." + path, "/gateway/../v1" + path, strings.ToUpper(path), "/V1" + path,
	}
	if rest != "" {
		out = append(out, "/"+first+"//"+rest, "/"+first+"/./"+rest, "/"+first+"/x/../"+rest)
	}
	return out
}
