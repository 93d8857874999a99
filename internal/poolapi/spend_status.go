package poolapi

import "github.com/swarmgate/caddy-bee/internal/pool"

// SpendStatus are /pool/status's spend-efficiency figures (issue 24).
type SpendStatus struct {
	Spend         Spend         `json:"spend"`
	BlockTime     BlockTime     `json:"block_time"`
	ActiveBatches []ActiveBatch `json:"active_batches"`
	InjectDepth   int           `json:"inject_depth,omitempty"` // cheapest depth per stamped byte now
	UploadRate    float64       `json:"upload_rate"`            // stamped bytes per second, last hour
}

// Spend is what the pool spent and what injected uploads stamped with it.
type Spend struct {
	SpentBZZ     float64 `json:"bzz_spent"`
	SpentPLUR    string  `json:"plur_spent"`
	StampedBytes int64   `json:"bytes_stamped"`
	BytesPerBZZ  float64 `json:"bytes_per_bzz"`
}

// BlockTime is the block time configured and measured from /chainstate.
type BlockTime struct {
	ConfiguredSeconds float64 `json:"configured_seconds"`
	MeasuredSeconds   float64 `json:"measured_seconds"` // 0 until measured
	Warning           string  `json:"warning,omitempty"`
}

// ActiveFill is an active batch's fill against its effective capacity (-1: unknown).
type ActiveFill struct {
	Depth             int     `json:"depth,omitempty"`
	EffectiveFill     float64 `json:"effective_fill"`
	CapacityLeftBytes int64   `json:"capacity_left_bytes"`
}

func fillFields(a pool.ActiveStatus) ActiveFill {
	return ActiveFill{EffectiveFill: a.EffectiveFill, CapacityLeftBytes: a.CapacityLeftBytes}
}

func spendFields(st pool.Status, withIDs bool) SpendStatus {
	out := SpendStatus{
		Spend: Spend{SpentBZZ: st.Spend.SpentBZZ, StampedBytes: st.Spend.StampedBytes, BytesPerBZZ: st.Spend.BytesPerBZZ, SpentPLUR: "0"},
		BlockTime: BlockTime{ConfiguredSeconds: st.BlockTime.Configured.Seconds(), MeasuredSeconds: st.BlockTime.Measured.Seconds(),
			Warning: st.BlockTime.Warning},
		ActiveBatches: []ActiveBatch{}, InjectDepth: st.InjectDepth, UploadRate: st.UploadRate,
	}
	if st.Spend.SpentPLUR != nil {
		out.Spend.SpentPLUR = st.Spend.SpentPLUR.String()
	}
	for _, a := range st.ActiveBatches {
		entry := ActiveBatch{UtilizationRatio: a.UtilizationRatio, TTLSeconds: a.TTLSeconds, ActiveFill: fillFields(a)}
		entry.Depth = a.Depth
		if withIDs {
			entry.BatchID = a.BatchID
		}
		out.ActiveBatches = append(out.ActiveBatches, entry)
	}
	return out
}
