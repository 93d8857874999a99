package cache

import "bytes"

// bytesBody is a memory entry's body; the slice is shared and never written.
type bytesBody struct{ *bytes.Reader }

func newBytesBody(b []byte) *bytesBody { return &bytesBody{bytes.NewReader(b)} }

func (*bytesBody) Close() error { return nil }
