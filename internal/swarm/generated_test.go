package swarm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The permutations are generated; a hand edit of the output, or a generator change not run,
// would otherwise go unnoticed until the two disagree on some input.
func TestGeneratedKeccakFilesMatchTheirGenerators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	for gen, out := range map[string]string{
		"keccakf_gen.go":      "keccakf.go",
		"keccakavx512_gen.go": "keccakavx512_amd64.s",
	} {
		dir := t.TempDir()
		src, err := os.ReadFile(gen)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, gen), src, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "run", gen)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go run %s: %v\n%s", gen, err, msg)
		}
		got, err := os.ReadFile(filepath.Join(dir, out))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what %s writes: run go generate ./internal/swarm", out, gen)
		}
	}
}
