//go:build !amd64 || purego

package swarm

const avx512Enabled = false

// permuteX4AVX512 is never called where avx512Enabled is false; it permutes correctly all
// the same, one state at a time.
func permuteX4AVX512(state *[100]uint64) {
	for m := range 4 {
		var s [25]uint64
		for i := range s {
			s[i] = state[4*i+m]
		}
		keccakF1600(&s)
		for i := range s {
			state[4*i+m] = s[i]
		}
	}
}
