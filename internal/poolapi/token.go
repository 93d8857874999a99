package poolapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"net/http"
	"strings"
)

// authorized reports whether r carries the admin token as `Authorization: Bearer <token>`.
// Both sides are hashed first so the comparison takes the same time whatever the length or
// content of the guess. With no token configured nothing is authorized.
func (a *API) authorized(r *http.Request) bool {
	if a.AdminToken == "" {
		return false
	}
	scheme, given, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	want := sha256.Sum256([]byte(a.AdminToken))
	got := sha256.Sum256([]byte(strings.TrimSpace(given)))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// RequireToken answers 401 unless r is authorized; it reports whether to go on.
func (a *API) RequireToken(w http.ResponseWriter, r *http.Request) bool {
	if a.authorized(r) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="caddy-bee"`)
	detail := "missing or wrong admin token: send `Authorization: Bearer <admin_token>`"
	if a.AdminToken == "" {
		detail = "this endpoint needs an admin token, and none is configured: set admin_token in the bee block"
	}
	_ = beeerror.WriteDetail(w, http.StatusUnauthorized, detail)
	return false
}
