package caddymodule

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/swarm"
)

func TestStampedBytesFollowsRouteAndLevel(t *testing.T) {
	n := int64(1 << 20)
	for _, c := range []struct {
		path, level string
		want        swarm.Level
	}{
		{"/bytes", "", swarm.LevelMedium},
		{"/v1/bzz", "0", swarm.LevelNone},
		{"/bytes", "4", swarm.LevelParanoid},
		{"/bytes", "junk", swarm.LevelMedium},
		{"/chunks", "3", swarm.LevelNone},
		{"/soc/aa/bb", "", swarm.LevelNone},
	} {
		r := httptest.NewRequest("POST", c.path, nil)
		if c.level != "" {
			r.Header.Set("Swarm-Redundancy-Level", c.level)
		}
		require.Equal(t, pool.StampedBytes(n, c.want), stampedBytes(r, n), "%s level %q", c.path, c.level)
	}
}
