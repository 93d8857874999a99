package coalesce

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// The upstream's copy shares nothing either side may edit: Caddy can rewrite the leader's
// request (handle_errors) while the upstream still reads its copy.
func TestUpstreamRequestIsIndependentOfTheLeaders(t *testing.T) {
	type key struct{}
	r := httpRequest(context.WithValue(context.Background(), key{}, "v"), http.MethodGet, "http://u:p@gw/bytes/x?a=1")
	r.Header.Set("Range", "bytes=0-1")
	r.Form = url.Values{"a": {"1"}}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()

	up := cloneForUpstream(ctx, r)
	require.Equal(t, "v", up.Context().Value(key{}))
	require.Equal(t, http.NoBody, up.Body)
	require.Equal(t, r.URL.String(), up.URL.String())
	require.Equal(t, r.Header, up.Header)

	r.URL.Path, r.URL.User = "/rewritten", url.User("other")
	r.Header["Range"][0] = "edited in place"
	r.Header.Set("If-None-Match", `"x"`)
	r.Form["a"][0] = "2"
	require.Equal(t, "/bytes/x", up.URL.Path)
	require.Equal(t, "u:p", up.URL.User.String())
	require.Equal(t, "bytes=0-1", up.Header.Get("Range"))
	require.Empty(t, up.Header.Get("If-None-Match"))
	require.Equal(t, "1", up.Form.Get("a"))
	cancel()
	require.NoError(t, r.Context().Err(), "cancelling the copy leaves the leader's request alone")
}
