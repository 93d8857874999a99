package caddymodule

import (
	"net/http"
	"strings"
)

// injectionAsked reports whether an upload asks for a pool batch. Like any upload it must
// carry none of its own (wantsInjection); /chunks/stream must moreover send the all-zero id:
// without any batch header Bee v2.8.1 expects every message to carry a pre-signed stamp, so
// the stream passes untouched.
func injectionAsked(route string, header http.Header) bool {
	if !wantsInjection(header) {
		return false
	}
	return route != "/chunks/stream" || strings.TrimSpace(header.Get(batchHeader)) != ""
}
