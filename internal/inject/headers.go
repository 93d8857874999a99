// Package inject puts the gateway's postage batches into uploads that carry none: it picks
// a node and batch, holds back Bee's refusals to read them, retires a batch only on a
// refusal Bee's own view of the batch confirms, and sends the upload once more (from a
// bounded replay copy of its head) with another batch or to another node. It also guards
// the connection against silent and half-read uploads. Caddy-specific parts (the response
// recorder, request variables, error values) come in as functions.
package inject

import (
	"net/http"
	"strings"
)

// Headers of an upload's postage.
const (
	BatchHeader = "Swarm-Postage-Batch-Id"
	StampHeader = "Swarm-Postage-Stamp"
	PinHeader   = "Swarm-Pin"
)

// Wants reports whether an upload carries no batch of its own: no batch header, an empty
// one or the all-zero id that bee-js and swarm-cli send to gateways, and no pre-signed
// stamp. A real id is never overwritten.
func Wants(header http.Header) bool {
	if header.Get(StampHeader) != "" {
		return false
	}
	for _, v := range header.Values(BatchHeader) {
		if strings.Trim(strings.TrimSpace(v), "0") != "" {
			return false
		}
	}
	return true
}

// Asked reports whether an upload to route asks for a pool batch. Like any upload it must
// carry none of its own (Wants); /chunks/stream must moreover send the all-zero id: without
// any batch header Bee v2.8.1 expects every message to carry a pre-signed stamp, so the
// stream passes untouched.
func Asked(route string, header http.Header) bool {
	if !Wants(header) {
		return false
	}
	return route != "/chunks/stream" || strings.TrimSpace(header.Get(BatchHeader)) != ""
}

// ClientBatchID is the batch an upload carries itself: its batch header, or the batch a
// pre-signed stamp starts with; "" when none.
func ClientBatchID(header http.Header) string {
	id := header.Get(BatchHeader)
	if stamp := header.Get(StampHeader); len(stamp) >= 64 {
		id = stamp[:64] // a stamp starts with its batch id
	}
	return id
}
