package bee

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// stampWire is Stamp as Bee sends it: amount is a decimal string.
type stampWire struct {
	BatchID          string     `json:"batchID"`
	Utilization      int        `json:"utilization"`
	UtilizationRatio float64    `json:"utilizationRatio"`
	Usable           bool       `json:"usable"`
	Label            string     `json:"label"`
	Depth            int        `json:"depth"`
	Amount           jsonBigInt `json:"amount"`
	BucketDepth      int        `json:"bucketDepth"`
	BlockNumber      uint64     `json:"blockNumber"`
	ImmutableFlag    bool       `json:"immutableFlag"`
	Exists           bool       `json:"exists"`
	BatchTTL         int64      `json:"batchTTL"`
}

// UnmarshalJSON reads Bee's stamp object. amount may be a string or a number; it never
// passes through a float. Bee before 2.8.1 sends no utilizationRatio: it is then computed
// from utilization, depth and bucketDepth.
func (s *Stamp) UnmarshalJSON(data []byte) error {
	var w stampWire
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	ratio := w.UtilizationRatio
	if ratio == 0 && w.Utilization > 0 && w.BucketDepth > 0 && w.Depth > w.BucketDepth && w.Depth-w.BucketDepth < 63 {
		ratio = float64(w.Utilization) / float64(uint64(1)<<(w.Depth-w.BucketDepth))
	}
	*s = Stamp{
		BatchID: w.BatchID, Utilization: w.Utilization, UtilizationRatio: ratio, Usable: w.Usable,
		Label: w.Label, Depth: w.Depth, Amount: w.Amount.orZero(), BucketDepth: w.BucketDepth,
		BlockNumber: w.BlockNumber, ImmutableFlag: w.ImmutableFlag, Exists: w.Exists, BatchTTL: w.BatchTTL,
	}
	return nil
}

// MarshalJSON writes the stamp as Bee does, amount as a decimal string.
func (s Stamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(stampWire{
		BatchID: s.BatchID, Utilization: s.Utilization, UtilizationRatio: s.UtilizationRatio, Usable: s.Usable,
		Label: s.Label, Depth: s.Depth, Amount: jsonBigInt{s.Amount}, BucketDepth: s.BucketDepth,
		BlockNumber: s.BlockNumber, ImmutableFlag: s.ImmutableFlag, Exists: s.Exists, BatchTTL: s.BatchTTL,
	})
}

// jsonBigInt is a big integer that Bee writes as a decimal string. Decoding also accepts a
// plain JSON number, read digit by digit: never through float64.
type jsonBigInt struct{ *big.Int }

func (b *jsonBigInt) UnmarshalJSON(data []byte) error {
	text := strings.TrimSpace(string(data))
	if text == "null" {
		b.Int = nil
		return nil
	}
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(data, &text); err != nil {
			return err
		}
	}
	v, ok := new(big.Int).SetString(strings.TrimSpace(text), 10)
	if !ok {
		return fmt.Errorf("%s is not a decimal integer", data)
	}
	b.Int = v
	return nil
}

func (b jsonBigInt) MarshalJSON() ([]byte, error) {
	return json.Marshal(b.orZero().String())
}

// orZero turns an absent value into 0 so callers never meet a nil *big.Int.
func (b jsonBigInt) orZero() *big.Int {
	if b.Int == nil {
		return new(big.Int)
	}
	return b.Int
}
