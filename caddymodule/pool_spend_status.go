package caddymodule

import "github.com/swarmgate/caddy-bee/internal/pool"

// spendStatusFields are /pool/status's spend-efficiency figures (issue 24).
type spendStatusFields struct {
	Spend         spendBody         `json:"spend"`
	BlockTime     blockTimeBody     `json:"block_time"`
	ActiveBatches []activeBatchBody `json:"active_batches"`
	InjectDepth   int               `json:"inject_depth,omitempty"` // cheapest depth per stamped byte now
	UploadRate    float64           `json:"upload_rate"`            // stamped bytes per second, last hour
}

type spendBody struct {
	SpentBZZ     float64 `json:"bzz_spent"`
	SpentPLUR    string  `json:"plur_spent"`
	StampedBytes int64   `json:"bytes_stamped"`
	BytesPerBZZ  float64 `json:"bytes_per_bzz"`
}

type blockTimeBody struct {
	ConfiguredSeconds float64 `json:"configured_seconds"`
	MeasuredSeconds   float64 `json:"measured_seconds"` // 0 until measured
	Warning           string  `json:"warning,omitempty"`
}

// activeFillFields: an active batch's fill against its effective capacity (-1: unknown).
type activeFillFields struct {
	Depth             int     `json:"depth,omitempty"`
	EffectiveFill     float64 `json:"effective_fill"`
	CapacityLeftBytes int64   `json:"capacity_left_bytes"`
}

func fillFields(a pool.ActiveStatus) activeFillFields {
	return activeFillFields{EffectiveFill: a.EffectiveFill, CapacityLeftBytes: a.CapacityLeftBytes}
}

func spendFields(st pool.Status, withIDs bool) spendStatusFields {
	out := spendStatusFields{
		Spend: spendBody{SpentBZZ: st.Spend.SpentBZZ, StampedBytes: st.Spend.StampedBytes, BytesPerBZZ: st.Spend.BytesPerBZZ, SpentPLUR: "0"},
		BlockTime: blockTimeBody{ConfiguredSeconds: st.BlockTime.Configured.Seconds(), MeasuredSeconds: st.BlockTime.Measured.Seconds(),
			Warning: st.BlockTime.Warning},
		ActiveBatches: []activeBatchBody{}, InjectDepth: st.InjectDepth, UploadRate: st.UploadRate,
	}
	if st.Spend.SpentPLUR != nil {
		out.Spend.SpentPLUR = st.Spend.SpentPLUR.String()
	}
	for _, a := range st.ActiveBatches {
		entry := activeBatchBody{UtilizationRatio: a.UtilizationRatio, TTLSeconds: a.TTLSeconds, activeFillFields: fillFields(a)}
		entry.Depth = a.Depth
		if withIDs {
			entry.BatchID = a.BatchID
		}
		out.ActiveBatches = append(out.ActiveBatches, entry)
	}
	return out
}
