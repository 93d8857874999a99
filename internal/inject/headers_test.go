package inject

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// FuzzWantsInjection: a batch header is replaced only when it is absent, empty or all zeros
// and no stamp is sent; a real id is never overwritten.
func FuzzWantsInjection(f *testing.F) {
	f.Add("", "")
	f.Add(strings.Repeat("0", 64), "")
	f.Add(strings.Repeat("ab", 32), "")
	f.Add("", strings.Repeat("00", 113))
	f.Add(" 0x00 ", "")
	f.Fuzz(func(t *testing.T, batch, stamp string) {
		h := http.Header{}
		if batch != "" {
			h.Set(BatchHeader, batch)
		}
		if stamp != "" {
			h.Set(StampHeader, stamp)
		}
		got := Wants(h)
		realID := strings.Trim(strings.TrimSpace(h.Get(BatchHeader)), "0") != ""
		if got && (realID || h.Get(StampHeader) != "") {
			t.Fatalf("would inject over batch %q stamp %q", batch, stamp)
		}
		if !got && !realID && h.Get(StampHeader) == "" {
			t.Fatalf("would not inject for batch %q", batch)
		}
	})
}

func TestInjectionAsked(t *testing.T) {
	zero := strings.Repeat("0", 64)
	for _, c := range []struct {
		route, batch, stamp string
		want                bool
	}{
		{"/bytes", "", "", true}, {"/bytes", zero, "", true}, {"/bytes", "ab", "", false},
		{"/chunks/stream", "", "", false}, {"/chunks/stream", zero, "", true},
		{"/chunks/stream", zero, "00", false}, {"/chunks/stream", "ab", "", false},
	} {
		h := http.Header{}
		if c.batch != "" {
			h.Set(BatchHeader, c.batch)
		}
		if c.stamp != "" {
			h.Set(StampHeader, c.stamp)
		}
		require.Equal(t, c.want, Asked(c.route, h), "%+v", c)
	}
}

func TestClientBatchID(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, c := range []struct{ batch, stamp, want string }{
		{"", "", ""}, {id, "", id}, {"", id + strings.Repeat("00", 81), id}, {"cd", "short", "cd"},
	} {
		h := http.Header{}
		h.Set(BatchHeader, c.batch)
		h.Set(StampHeader, c.stamp)
		require.Equal(t, c.want, ClientBatchID(h), "%+v", c)
	}
}

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
		require.Equal(t, pool.StampedBytes(n, c.want), StampedBytes(r, n), "%s level %q", c.path, c.level)
	}
}
