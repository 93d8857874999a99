package cache

import (
	"bytes"
	"io"
)

// bytesBody is a memory entry's body; the slice is shared and never written.
type bytesBody struct{ *bytes.Reader }

func newBytesBody(b []byte) *bytesBody { return &bytesBody{bytes.NewReader(b)} }

func (*bytesBody) Close() error { return nil }

// whole returns the body for one large write: bytes.Reader's WriteTo hands the whole slice
// to a single Write.
func (b *bytesBody) whole() (io.Reader, error) { return b.Reader, nil }

// wholeBody is a body that can be sent in one piece (one Write, or sendfile).
type wholeBody interface {
	whole() (io.Reader, error)
}

// Both tiers' bodies; a file's can fail (a seek), a memory entry's cannot.
var (
	_ wholeBody = (*bytesBody)(nil)
	_ wholeBody = (*fileBody)(nil)
)
