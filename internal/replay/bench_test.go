package replay

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkBodyLargeUpload streams 2 MiB uploads through a Body: the 1 MiB copy comes from the
// free list, so an upload allocates no new buffer once the list is warm.
func BenchmarkBodyLargeUpload(b *testing.B) {
	budget := NewBudget(64 << 20)
	data := randomBytes(2 << 20)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		body := NewBody(bytes.NewReader(data), int64(len(data)), budget)
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{body}, buf); err != nil {
			b.Fatal(err)
		}
		body.Release()
	}
}
