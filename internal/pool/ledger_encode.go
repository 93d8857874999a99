package pool

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// appendLedger appends d as encoding/json would marshal it, byte for byte (the checksum is
// verified against json.Marshal's output), without reflection: a ledger keeps every batch
// issued within HistoryRetention, and reflection over thousands of records (each with four
// times, which json compacts again after MarshalJSON) was most of a commit's CPU. Values
// outside the fast paths (strings that need escaping, floats in exponent form) are marshalled
// by encoding/json itself; ledger_encode_test.go holds the two encodings equal.
func appendLedger(b []byte, d *ledgerDoc) ([]byte, error) {
	var err error
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(d.Version), 10)
	b = append(b, `,"node":`...)
	b = appendJSONString(b, d.Node)
	b = append(b, `,"batches":`...)
	if d.Batches == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range d.Batches {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendRecord(b, r); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"intents":`...)
	if d.Intents == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, in := range d.Intents {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendIntent(b, in); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"operations":`...)
	if d.Operations == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, t := range d.Operations {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONTime(b, t); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if len(d.History) > 0 {
		b = append(b, `,"history":[`...)
		for i, k := range d.History {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
		}
		b = append(b, ']')
	}
	if d.Fence != 0 {
		b = append(b, `,"fence":`...)
		b = strconv.AppendUint(b, d.Fence, 10)
	}
	b = append(b, `,"checksum":`...)
	b = appendJSONString(b, d.Checksum)
	return append(b, '}'), nil
}

func appendRecord(b []byte, r *record) ([]byte, error) {
	if r == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"label":`...)
	b = appendJSONString(b, r.Label)
	b = append(b, `,"depth":`...)
	b = strconv.AppendInt(b, int64(r.Depth), 10)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(r.State))
	b = append(b, `,"amount":`...)
	b = appendJSONString(b, r.Amount)
	b = append(b, `,"bought_at":`...)
	if b, err = appendJSONTime(b, r.BoughtAt); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{`,"usable_at":`, r.UsableAt}, {`,"issued_at":`, r.IssuedAt}, {`,"retired_at":`, r.RetiredAt}} {
		if t.at.IsZero() {
			continue
		}
		b = append(b, t.name...)
		if b, err = appendJSONTime(b, t.at); err != nil {
			return nil, err
		}
	}
	if r.RetiredReason != "" {
		b = append(b, `,"retired_reason":`...)
		b = appendJSONString(b, r.RetiredReason)
	}
	b = append(b, `,"ttl_seconds":`...)
	b = strconv.AppendInt(b, r.TTLSeconds, 10)
	b = append(b, `,"utilization":`...)
	if b, err = appendJSONFloat(b, r.Utilization); err != nil {
		return nil, err
	}
	if r.SeenOnChain {
		b = append(b, `,"seen_on_chain":true`...)
	}
	if !r.LastSeen.IsZero() {
		b = append(b, `,"last_seen":`...)
		if b, err = appendJSONTime(b, r.LastSeen); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendIntent(b []byte, in *intent) ([]byte, error) {
	if in == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, `{"label":`...)
	b = appendJSONString(b, in.Label)
	b = append(b, `,"depth":`...)
	b = strconv.AppendInt(b, int64(in.Depth), 10)
	b = append(b, `,"amount":`...)
	b = appendJSONString(b, in.Amount)
	b = append(b, `,"started_at":`...)
	if b, err = appendJSONTime(b, in.StartedAt); err != nil {
		return nil, err
	}
	if in.Abandoned {
		b = append(b, `,"abandoned":true`...)
	}
	return append(b, '}'), nil
}

// appendJSONString writes printable ASCII that needs no escape as it is, and leaves every
// other string to encoding/json (HTML escapes, control characters, invalid UTF-8, U+2028).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s) // a string always marshals
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds), which encoding/json
// uses as it is for a valid time.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// appendJSONFloat is encoding/json's float64 form where it is strconv's shortest 'f' form;
// exponent forms and the values json refuses (NaN, infinities) go through json itself.
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if abs := math.Abs(f); abs == 0 || abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}
