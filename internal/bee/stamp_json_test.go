package bee

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStampJSONRoundTripKeepsAmountAString(t *testing.T) {
	amount, _ := new(big.Int).SetString("340282366920938463463374607431768211456", 10) // 2^128
	in := Stamp{BatchID: testBatchID, Utilization: 2, UtilizationRatio: 0.5, Usable: true, Label: "l",
		Depth: 18, Amount: amount, BucketDepth: 16, BlockNumber: 9, ImmutableFlag: true, Exists: true, BatchTTL: -1}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	require.Contains(t, string(data), `"amount":"340282366920938463463374607431768211456"`)
	require.Contains(t, string(data), `"batchTTL":-1`)

	var out Stamp
	require.NoError(t, json.Unmarshal(data, &out))
	require.Equal(t, 0, amount.Cmp(out.Amount))
	out.Amount, in.Amount = nil, nil
	require.Equal(t, in, out)

	var nilAmount Stamp
	data, err = json.Marshal(nilAmount)
	require.NoError(t, err)
	require.Contains(t, string(data), `"amount":"0"`)
}

func TestStampJSONAcceptsNumberAmountsButNotFloats(t *testing.T) {
	var s Stamp
	require.NoError(t, json.Unmarshal([]byte(`{"amount":123456789012345678901234567890}`), &s))
	require.Equal(t, "123456789012345678901234567890", s.Amount.String())

	require.NoError(t, json.Unmarshal([]byte(`{"batchID":"x"}`), &s))
	require.Equal(t, 0, s.Amount.Sign(), "absent amount is zero, never nil")

	for _, bad := range []string{`{"amount":"1.5"}`, `{"amount":1e30}`, `{"amount":"ten"}`, `{"amount":true}`} {
		require.Error(t, json.Unmarshal([]byte(bad), &s), bad)
	}
}

func TestUtilizationRatioComputedOnlyWhenMissing(t *testing.T) {
	cases := []struct {
		body string
		want float64
	}{
		{`{"utilization":4,"depth":18,"bucketDepth":16}`, 1},
		{`{"utilization":1,"depth":22,"bucketDepth":16}`, 1.0 / 64},
		{`{"utilization":1,"utilizationRatio":0.75,"depth":22,"bucketDepth":16}`, 0.75},
		{`{"utilization":0,"depth":22,"bucketDepth":16}`, 0},
		{`{"utilization":3,"depth":0,"bucketDepth":0}`, 0}, // depth unknown: nothing to compute
	}
	for _, tc := range cases {
		var s Stamp
		require.NoError(t, json.Unmarshal([]byte(tc.body), &s), tc.body)
		require.Equal(t, tc.want, s.UtilizationRatio, tc.body)
	}
}
