package cache

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func chunkTarget(t testing.TB, body []byte) Target {
	addr, ok := swarm.ChunkAddress(body)
	if !ok {
		t.Fatal("not a chunk")
	}
	tg, ok := Classify("GET", "/chunks/"+hex.EncodeToString(addr[:]), "", http.Header{})
	if !ok {
		t.Fatal("/chunks not classified")
	}
	return tg
}

// Verifying a /chunks entry is one BMT hash and nothing on the heap: the cache checks every
// chunk it admits.
func TestVerifyChunkDoesNotAllocate(t *testing.T) {
	body := randomBytes(swarm.ChunkWithSpanSize, 1)
	s := swarm.Span(swarm.ChunkSize)
	copy(body, s[:])
	tg := chunkTarget(t, body)
	if !verify(tg, "", body) {
		t.Fatal("a chunk did not verify against its own address")
	}
	if n := testing.AllocsPerRun(50, func() { verify(tg, "", body) }); n != 0 {
		t.Fatalf("%v allocations per chunk verification", n)
	}
	body[len(body)-1] ^= 1
	if verify(tg, "", body) {
		t.Fatal("a changed chunk verified")
	}
}

func BenchmarkVerifyChunk(b *testing.B) {
	body := randomBytes(swarm.ChunkWithSpanSize, 2)
	s := swarm.Span(swarm.ChunkSize)
	copy(body, s[:])
	tg := chunkTarget(b, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		verify(tg, "", body)
	}
}

// treeRootIsPerLevel is how verification went before swarm.BytesLevel: a whole tree, leaves
// included, per level tried. Kept as the benchmark's baseline.
func treeRootIsPerLevel(body []byte, ref string) bool {
	for l := swarm.LevelNone; l <= swarm.LevelParanoid; l++ {
		w := swarm.NewTreeWriter(l, nil)
		w.Write(body)
		root, err := w.Sum()
		if err == nil && hex.EncodeToString(root[:]) == ref {
			return true
		}
	}
	return false
}

// A 1 MiB /bytes entry uploaded at level none (the Zipf benchmark's content) and at medium
// (Bee 2.8.1's default), which is found after none has been tried.
func BenchmarkVerifyBytes1MiB(b *testing.B) {
	body := randomBytes(1<<20, 4)
	for _, level := range []swarm.Level{swarm.LevelNone, swarm.LevelMedium} {
		w := swarm.NewTreeWriter(level, nil)
		w.Write(body)
		root, _ := w.Sum()
		ref := hex.EncodeToString(root[:])
		for _, c := range []struct {
			name   string
			verify func([]byte, string) bool
		}{{"tree-per-level", treeRootIsPerLevel}, {"leaves-once", treeRootIs}} {
			b.Run(fmt.Sprintf("level-%d/%s", level, c.name), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if !c.verify(body, ref) {
						b.Fatal("did not verify")
					}
				}
			})
		}
	}
}
