package subdomain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHostsMatchCIDs(t *testing.T) {
	h, err := NewHosts([]string{"bzz.example.com", "bzz.localhost"}, false)
	require.NoError(t, err)

	site, under, err := h.Match(beeManifestCID + ".bzz.example.com")
	require.True(t, under)
	require.NoError(t, err)
	require.Equal(t, Site{Root: "/bzz/" + beeRef, Immutable: true}, site)

	// Any case, a port and a trailing dot are the same host.
	site, under, err = h.Match(strings.ToUpper(beeManifestCID) + ".BZZ.localhost.:8443")
	require.True(t, under)
	require.NoError(t, err)
	require.Equal(t, "/bzz/"+beeRef, site.Root)

	// A feed CID follows its feed: mutable.
	site, _, err = h.Match(beeFeedCID + ".bzz.example.com")
	require.NoError(t, err)
	require.False(t, site.Immutable)

	// Junk and ENS-looking labels are under the base but name nothing while ENS is off.
	for _, host := range []string{"junk.bzz.example.com", "a.b.bzz.example.com", "bafybeiekkklkqtypmqav6ytqjbdqucxfwuk5cgige4245d2qhkccuyfnly.bzz.example.com"} {
		_, under, err = h.Match(host)
		require.True(t, under, host)
		require.Error(t, err, host)
	}
	// The base itself and foreign hosts are not content hosts.
	for _, host := range []string{"bzz.example.com", "example.com", "evilbzz.example.com", beeManifestCID + ".example.org", "127.0.0.1:8080"} {
		_, under, _ = h.Match(host)
		require.False(t, under, host)
	}
}

func TestHostsENS(t *testing.T) {
	h, err := NewHosts([]string{"bzz.example.com"}, true)
	require.NoError(t, err)
	site, under, err := h.Match("vitalik.bzz.example.com")
	require.True(t, under)
	require.NoError(t, err)
	require.Equal(t, Site{Root: "/bzz/vitalik.eth"}, site, "ENS names are mutable")

	site, _, err = h.Match("blog.vitalik.bzz.example.com")
	require.NoError(t, err)
	require.Equal(t, "/bzz/blog.vitalik.eth", site.Root, "multilevel ENS")

	site, _, err = h.Match(beeManifestCID + ".bzz.example.com")
	require.NoError(t, err)
	require.Equal(t, "/bzz/"+beeRef, site.Root, "CIDs win over ENS")

	for _, host := range []string{"-bad.bzz.example.com", "a..b.bzz.example.com", "under_score.bzz.example.com", strings.Repeat("a.", 120) + "bzz.example.com"} {
		_, _, err = h.Match(host)
		require.Error(t, err, host)
	}
}

func TestHostsAllowedForCertificates(t *testing.T) {
	h, err := NewHosts([]string{"bzz.localhost"}, false)
	require.NoError(t, err)
	require.NoError(t, h.Allowed(beeManifestCID+".bzz.localhost"))
	require.Error(t, h.Allowed("junk.bzz.localhost"))
	require.Error(t, h.Allowed("bzz.localhost"), "the base itself gets no on-demand certificate")
	require.Error(t, h.Allowed("example.com"))
	require.Error(t, h.Allowed(beeManifestCID+".example.com"))
}

func TestNewHostsRefusesBadBases(t *testing.T) {
	for _, bases := range [][]string{nil, {""}, {"https://bzz.example.com"}, {"*.example.com"}, {"bzz.example.com:443"}, {"com"}, {"a.com", "A.com"}} {
		_, err := NewHosts(bases, false)
		require.Error(t, err, "%q", bases)
	}
}
