package subdomain

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/routepolicy"
	"github.com/swarmgate/caddy-bee/internal/zerocopy"
)

// Serve prepares a request to a content subdomain (site and err as Hosts.Match returned
// them): a site's origin serves GET and HEAD of the site's paths and nothing else (no
// uploads, no plugin API, no other Bee route), so anything else is answered here (done).
// Otherwise r is rewritten to the site's root and the returned writer maps Bee's redirects
// back into the site's paths: serve r with it as any content request.
func Serve(w http.ResponseWriter, r *http.Request, site Site, err error) (http.ResponseWriter, bool, error) {
	if err != nil {
		return w, true, beeerror.Write(w, http.StatusNotFound, "no Swarm site at "+HostName(r.Host)+": "+err.Error())
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return w, true, beeerror.Write(w, http.StatusMethodNotAllowed,
			r.Method+" is not allowed on a Swarm site's origin: only GET and HEAD; upload through the gateway's main host")
	}
	r.URL.Path = site.Root + routepolicy.CleanPath(r.URL.Path)
	r.URL.RawPath = ""
	return NewSiteResponse(w, site.Root), false, nil
}

// NewSiteResponse wraps w so that Bee's redirects under root (e.g. `/bzz/<ref>/dir` ->
// `/bzz/<ref>/dir/`) come back as the site's own paths.
func NewSiteResponse(w http.ResponseWriter, root string) http.ResponseWriter {
	return &siteResponse{ResponseWriter: w, root: root}
}

type siteResponse struct {
	http.ResponseWriter
	root string
}

func (s *siteResponse) WriteHeader(status int) {
	if loc := s.Header().Get("Location"); loc != "" {
		if rest, ok := strings.CutPrefix(loc, s.root+"/"); ok {
			s.Header().Set("Location", "/"+rest)
		}
	}
	s.ResponseWriter.WriteHeader(status)
}

// ReadFrom keeps the inner writer's zero-copy path reachable (see internal/zerocopy).
func (s *siteResponse) ReadFrom(src io.Reader) (int64, error) {
	return zerocopy.ReadFrom(s.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *siteResponse) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// URLs returns the CID of reference ref and the URLs under every base that serve its site,
// with r's scheme and port.
func (h *Hosts) URLs(r *http.Request, ref string) (cid string, urls []string, err error) {
	cid, err = CID(strings.ToLower(ref))
	if err != nil {
		return "", nil, err
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	port := ""
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = ":" + p
	}
	urls = []string{}
	for _, base := range h.Bases() {
		urls = append(urls, fmt.Sprintf("%s://%s.%s%s/", scheme, cid, base, port))
	}
	return cid, urls, nil
}
