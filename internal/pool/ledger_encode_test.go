package pool

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The fast encoding must be json.Marshal's, byte for byte: a stored ledger's checksum is
// verified against json.Marshal on every read, by this version and by the older ones.
func TestAppendLedgerIsJSONMarshal(t *testing.T) {
	strs := []string{"", "caddy-bee-17-0123456789ab", "a<b>&c", `quote"back\slash`, "tab\tnew\nline\r\x00\x1f", "\u2028\u2029",
		"ünïcødé ☃", "bad\xffutf8", "http://127.0.0.1:1633/", "\x7f"}
	floats := []float64{0, math.Copysign(0, -1), 0.5, 1e-7, 1e-6, 0.999999, 123.456, 1e20, 1e21, 3e-300, -2.5}
	zone := time.FixedZone("x", 5*3600+30*60)
	times := []time.Time{{}, time.Date(2026, 11, 30, 17, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 123456789, zone),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Now(), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return rnd.IntN(n) }
	for round := range 300 {
		d := &ledgerDoc{Version: ledgerV1, Node: strs[pick(len(strs))], Fence: uint64(pick(3)) * uint64(round), Checksum: strs[pick(len(strs))],
			History: strs[:pick(4)]}
		switch pick(3) {
		case 0: // nil slices: null
		case 1:
			d.Batches, d.Intents, d.Operations = []*record{}, []*intent{}, []time.Time{}
		default:
			for range pick(20) {
				if pick(15) == 0 {
					d.Batches = append(d.Batches, nil)
					continue
				}
				d.Batches = append(d.Batches, &record{ID: strs[pick(len(strs))], Label: strs[pick(len(strs))], Depth: pick(40) - 3,
					State: State(strs[pick(len(strs))]), Amount: strs[pick(len(strs))], BoughtAt: times[pick(len(times))],
					UsableAt: times[pick(len(times))], IssuedAt: times[pick(len(times))], RetiredAt: times[pick(len(times))],
					RetiredReason: strs[pick(len(strs))], TTLSeconds: rnd.Int64() - rnd.Int64(), Utilization: floats[pick(len(floats))],
					SeenOnChain: pick(2) == 0, LastSeen: times[pick(len(times))]})
			}
			for range pick(5) {
				d.Intents = append(d.Intents, &intent{Label: strs[pick(len(strs))], Depth: pick(30), Amount: strs[pick(len(strs))],
					StartedAt: times[pick(len(times))], Abandoned: pick(2) == 0})
			}
			for range pick(5) {
				d.Operations = append(d.Operations, times[pick(len(times))])
			}
		}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendLedger(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("round %d:\n got %s\nwant %s", round, got, want)
		}
	}
}

// What json refuses, the fast encoding refuses too; encode then reports json's error.
func TestAppendLedgerRefusesWhatJSONRefuses(t *testing.T) {
	for _, d := range []*ledgerDoc{
		{Batches: []*record{{Utilization: math.NaN()}}},
		{Batches: []*record{{BoughtAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{Operations: []time.Time{time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		if _, err := json.Marshal(d); err == nil {
			t.Fatal("json took it")
		}
		if _, err := appendLedger(nil, d); err == nil {
			t.Fatal("the fast encoding took what json refuses")
		}
		if _, err := d.encode(); err == nil {
			t.Fatal("encode took what json refuses")
		}
	}
}

// A ledger written by encode reads back: its checksum is json.Marshal's.
func TestEncodedLedgerDecodes(t *testing.T) {
	d := &ledgerDoc{Version: ledgerV1, Node: "http://bee<&>", Fence: 7, Operations: []time.Time{time.Now()}}
	for i := range 50 {
		d.Batches = append(d.Batches, &record{ID: string(rune('a' + i%26)), State: Issued, Amount: "41472000000", BoughtAt: time.Now(),
			IssuedAt: time.Now(), Utilization: float64(i) / 7, TTLSeconds: int64(i)})
	}
	raw, err := d.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeLedger(raw, "k")
	if err != nil {
		t.Fatal(err)
	}
	if back.Fence != 7 || len(back.Batches) != 50 || back.Checksum != d.Checksum {
		t.Fatalf("read back %+v", back)
	}
}

// appendLedger writes the fields it knows: a field added to the ledger's types must be added
// there too (else its value would be missing and the checksum would fail on every read).
func TestAppendLedgerKnowsEveryField(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{ledgerDoc{}, "version,node,batches,intents,operations,history,fence,checksum"},
		{record{}, "id,label,depth,state,amount,bought_at,usable_at,issued_at,retired_at,retired_reason,ttl_seconds,utilization,seen_on_chain,last_seen"},
		{intent{}, "label,depth,amount,started_at,abandoned"},
	} {
		typ := reflect.TypeOf(c.v)
		var names []string
		for i := range typ.NumField() {
			if !typ.Field(i).IsExported() {
				continue // json leaves it out
			}
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			names = append(names, name)
		}
		if got := strings.Join(names, ","); got != c.want {
			t.Fatalf("%s has the JSON fields %s; appendLedger (ledger_encode.go) writes %s: update it and this test", typ, got, c.want)
		}
	}
}
