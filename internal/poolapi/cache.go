package poolapi

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/beeerror"
	"github.com/swarmgate/caddy-bee/internal/cache"
)

// ServeCache is GET <api_prefix>/cache (stats) and DELETE <api_prefix>/cache/{ref} (admin
// token): remove every entry of a reference, e.g. for moderation. c is nil with the cache off.
func (a *API) ServeCache(w http.ResponseWriter, r *http.Request, c *cache.Cache, endpoint string) error {
	if endpoint == "/cache" {
		if !AllowMethods(w, r, http.MethodGet, http.MethodHead) {
			return nil
		}
		return beeerror.WriteJSON(w, http.StatusOK, cache.StatsAnswer(c))
	}
	ref := strings.TrimPrefix(endpoint, "/cache/")
	if !AllowMethods(w, r, http.MethodDelete) || !a.RequireToken(w, r) {
		return nil
	}
	answer, removed, err := cache.PurgeReference(c, ref)
	if err != nil {
		return beeerror.WriteDetail(w, http.StatusBadRequest, err.Error())
	}
	a.Logger.Info("content cache purge", zap.String("ref", ref), zap.Int("removed", removed))
	return beeerror.WriteJSON(w, http.StatusOK, answer)
}
