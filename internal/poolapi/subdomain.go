package poolapi

import (
	"net/http"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/subdomain"
)

// ServeSubdomainURLs is GET <api_prefix>/subdomain/<ref>: the hosts that serve ref's site.
// hosts is nil without subdomains.
func ServeSubdomainURLs(w http.ResponseWriter, r *http.Request, hosts *subdomain.Hosts, ref string) error {
	if !AllowMethods(w, r, http.MethodGet, http.MethodHead) {
		return nil
	}
	if hosts == nil {
		return beeerror.WriteDetail(w, http.StatusNotFound,
			"subdomains are not configured on this gateway: add `subdomains <base-domain>` to the bee directive")
	}
	cid, urls, err := hosts.URLs(r, ref)
	if err != nil {
		return beeerror.WriteDetail(w, http.StatusUnprocessableEntity, err.Error())
	}
	return beeerror.WriteJSON(w, http.StatusOK, map[string]any{"reference": strings.ToLower(ref), "cid": cid, "urls": urls})
}
