//go:build amd64 && !purego

package swarm

import "golang.org/x/sys/cpu"

//go:generate go run keccakavx512_gen.go

// avx512Enabled says whether the AVX-512 permutations run here (x/sys/cpu also checks that
// the OS saves the AVX-512 registers).
var avx512Enabled = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

//go:noescape
func keccakF1600x4AVX512(state *[100]uint64, rc *[24]uint64)

//go:noescape
func keccakF1600x8AVX512(state *[200]uint64, rc *[24]uint64)

//go:noescape
func keccakNodesX8AVX512(out *[8 * hashLanes]uint64, in *[8 * nodeLanes]uint64, rc *[24]uint64)

// hashNodesX8AVX512 hashes eight 64-byte BMT nodes, in[8m:8m+8] as lanes, into
// out[4m:4m+4]; out may be in.
func hashNodesX8AVX512(out *[8 * hashLanes]uint64, in *[8 * nodeLanes]uint64) {
	keccakNodesX8AVX512(out, in, &keccakRC)
}

// permuteX4AVX512 applies Keccak-f[1600] to four states interleaved as in circl's StateX4:
// lane i of state m at state[4*i+m].
func permuteX4AVX512(state *[100]uint64) { keccakF1600x4AVX512(state, &keccakRC) }

// permuteX8AVX512 is permuteX4AVX512 for eight states: lane i of state m at state[8*i+m].
func permuteX8AVX512(state *[200]uint64) { keccakF1600x8AVX512(state, &keccakRC) }
