//go:build !amd64 || purego

package swarm

const avx512Enabled = false

// permuteX4AVX512 is never called where avx512Enabled is false; it permutes correctly all
// the same, one state at a time.
func permuteX4AVX512(state *[100]uint64) { permuteInterleaved(state[:], 4) }

// permuteX8AVX512: as permuteX4AVX512.
func permuteX8AVX512(state *[200]uint64) { permuteInterleaved(state[:], 8) }

// hashNodesX8AVX512: as permuteX4AVX512.
func hashNodesX8AVX512(out *[8 * hashLanes]uint64, in *[8 * nodeLanes]uint64) {
	for m := range 8 {
		hashNodeScalar(out[hashLanes*m:], in[nodeLanes*m:])
	}
}

func permuteInterleaved(state []uint64, ways int) {
	for m := range ways {
		var s [25]uint64
		for i := range s {
			s[i] = state[ways*i+m]
		}
		keccakF1600(&s)
		for i := range s {
			state[ways*i+m] = s[i]
		}
	}
}
