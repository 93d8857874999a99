package testkit

import (
	"io"
	"time"
)

// ReadSteadily reads r to its end in pieces of piece bytes with a pause after each, as a
// slow but steady client does, and returns how many bytes it got before the end or an error.
func ReadSteadily(r io.Reader, piece int, pause time.Duration) int64 {
	buf := make([]byte, piece)
	var got int64
	for {
		n, err := io.ReadFull(r, buf)
		got += int64(n)
		if err != nil {
			return got
		}
		time.Sleep(pause)
	}
}
