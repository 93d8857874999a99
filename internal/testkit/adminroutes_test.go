package testkit

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every route docs/bee-api.md says must not be public has a sample in the lists.
func TestAdminRoutesCoverTheBeeAPIList(t *testing.T) {
	raw, err := os.ReadFile("../../docs/bee-api.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(raw), "## Routes that must not be public")
	require.True(t, ok, "docs/bee-api.md lost its section on routes that must not be public")
	section, _, _ = strings.Cut(section, "\n## ")
	// "`POST/PATCH /stamps*`", "`/wallet*`", "`/peers`", "`/chunks` DELETE"
	items := regexp.MustCompile("`(?:([A-Z/]+) )?(/[^`*]*)(\\*?)`(?: (GET|POST|PUT|PATCH|DELETE)\\b)?").FindAllStringSubmatch(section, -1)
	require.Greater(t, len(items), 20)
	all := append(append([]Route(nil), AdminRoutes...), RefusedContentMethods...)
	for _, item := range items {
		methods, path := item[1]+item[4], item[2]
		covered := false
		for _, r := range all {
			if r.Path == path || strings.HasPrefix(r.Path, path+"/") || (item[3] == "*" && strings.HasPrefix(r.Path, path)) {
				covered = covered || methods == "" || strings.Contains(methods, r.Method)
			}
		}
		require.True(t, covered, "%q from docs/bee-api.md has no sample route", item[0])
	}
}
