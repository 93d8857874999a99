package caddymodule

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReplayableBodyReplaysWhatWasReadAndTheRest(t *testing.T) {
	data := randomBytes(3 << 20) // larger than replayLimit: only what was read is kept
	b := newReplayableBody(bytes.NewReader(data), int64(len(data)))
	head := make([]byte, 100<<10)
	_, err := io.ReadFull(b, head)
	require.NoError(t, err)
	require.NoError(t, b.Close(), "the proxy's Close must not end the client's body")

	again, ok := b.replay()
	require.True(t, ok)
	all, err := io.ReadAll(again)
	require.NoError(t, err)
	require.Equal(t, data, all, "kept head + unread rest = the whole body")

	_, err = b.Read(make([]byte, 10))
	require.ErrorIs(t, err, errReplayed, "the first attempt no longer reads once replayed")
	_, ok = b.replay()
	require.False(t, ok, "one replay only")
}

func TestReplayableBodyGivesUpPastTheLimit(t *testing.T) {
	data := randomBytes(replayLimit + 1)
	b := newReplayableBody(bytes.NewReader(data), int64(len(data)))
	n, err := io.Copy(io.Discard, b)
	require.NoError(t, err)
	require.EqualValues(t, len(data), n)
	_, ok := b.replay()
	require.False(t, ok, "more than replayLimit was read: nothing is kept to replay")
	require.Empty(t, b.kept)
}

func TestReplayableBodyKeepsASmallBodyWhole(t *testing.T) {
	data := randomBytes(replayLimit) // exactly the limit
	b := newReplayableBody(bytes.NewReader(data), int64(len(data)))
	_, err := io.Copy(io.Discard, b)
	require.NoError(t, err)
	again, ok := b.replay()
	require.True(t, ok)
	all, _ := io.ReadAll(again)
	require.Equal(t, data, all)
}

func TestReplayableBodyReleaseStopsLateReads(t *testing.T) {
	for _, size := range []int64{10, 2 << 20, -1} { // exact buffer, pooled, unknown length
		b := newReplayableBody(bytes.NewReader(randomBytes(3000)), size)
		_, err := b.Read(make([]byte, 100))
		require.NoError(t, err)
		b.release()
		// A transport still reading after the handler returned must not touch the buffer,
		// which may already serve another upload.
		_, err = b.Read(make([]byte, 100))
		require.ErrorIs(t, err, errReplayed)
		_, ok := b.replay()
		require.False(t, ok)
		b.release() // twice is harmless
	}
}

// release must not wait for a read stalled on a slow client (the handler would hang), and
// that read, once it returns, must leave the released buffer alone.
func TestReplayableBodyReleaseDoesNotWaitForAStalledRead(t *testing.T) {
	pr, pw := io.Pipe()
	b := newReplayableBody(pr, 2<<20)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _ = b.Read(make([]byte, 100))
	}()
	time.Sleep(20 * time.Millisecond) // let the read block on the client
	released := make(chan struct{})
	go func() { b.release(); close(released) }()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("release waited for the client")
	}
	_, _ = pw.Write([]byte("late bytes"))
	<-readDone
	require.Nil(t, b.kept, "a read finishing after release touched the buffer")
}
