//go:build amd64 && !purego

package swarm

import "golang.org/x/sys/cpu"

//go:generate go run keccakx4_gen.go

// avx512Enabled says whether keccakF1600x4AVX512 runs here (x/sys/cpu also checks that the
// OS saves the AVX-512 registers).
var avx512Enabled = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

//go:noescape
func keccakF1600x4AVX512(state *[100]uint64, rc *[24]uint64)

// permuteX4AVX512 applies Keccak-f[1600] to four states interleaved as in circl's StateX4.
func permuteX4AVX512(state *[100]uint64) { keccakF1600x4AVX512(state, &keccakRC) }
