package replay

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestBodyReplaysWhatWasReadAndTheRest(t *testing.T) {
	budget := NewBudget(64 << 20)
	data := randomBytes(3 << 20) // larger than Limit: only what was read is kept
	b := NewBody(bytes.NewReader(data), int64(len(data)), budget)
	head := make([]byte, 100<<10)
	_, err := io.ReadFull(b, head)
	require.NoError(t, err)
	require.NoError(t, b.Close(), "the proxy's Close must not end the client's body")

	again, ok := b.Replay()
	require.True(t, ok)
	all, err := io.ReadAll(again)
	require.NoError(t, err)
	require.Equal(t, data, all, "kept head + unread rest = the whole body")
	require.Zero(t, budget.Held(), "the head went out again: its copy is given back before the upload ends")

	_, err = b.Read(make([]byte, 10))
	require.ErrorIs(t, err, ErrDetached, "the first attempt no longer reads once replayed")
	_, ok = b.Replay()
	require.False(t, ok, "one replay only")
	b.Release()
	require.Zero(t, budget.Held())
}

func TestBodyGivesUpPastTheLimitAndReturnsItsCopyAtOnce(t *testing.T) {
	budget := NewBudget(64 << 20)
	data := randomBytes(Limit + 1)
	b := NewBody(bytes.NewReader(data), int64(len(data)), budget)
	require.EqualValues(t, Limit, budget.Held())
	n, err := io.Copy(io.Discard, b)
	require.NoError(t, err)
	require.EqualValues(t, len(data), n)
	require.Zero(t, budget.Held(), "a copy that can no longer serve a replay is given back while the upload goes on")
	_, ok := b.Replay()
	require.False(t, ok, "more than Limit was read: nothing is kept to replay")
	b.Release()
	require.Zero(t, budget.Held())
}

func TestBodyKeepsABodyOfExactlyTheLimit(t *testing.T) {
	data := randomBytes(Limit)
	b := NewBody(bytes.NewReader(data), int64(len(data)), NewBudget(64<<20))
	_, err := io.Copy(io.Discard, b)
	require.NoError(t, err)
	again, ok := b.Replay()
	require.True(t, ok)
	all, _ := io.ReadAll(again)
	require.Equal(t, data, all)
}

// A small upload reserves only its announced size; one that sends more than announced (not
// possible through net/http, which enforces Content-Length) still never grows its buffer.
func TestBodySmallUploadReservesItsSize(t *testing.T) {
	budget := NewBudget(64 << 20)
	b := NewBody(bytes.NewReader(randomBytes(2000)), 1000, budget)
	require.EqualValues(t, 1000, budget.Held())
	_, err := io.Copy(io.Discard, b)
	require.NoError(t, err)
	require.Zero(t, budget.Held())
	_, ok := b.Replay()
	require.False(t, ok)
}

func TestBodyWithoutRoomStreamsAndReplaysOnlyBeforeTheFirstByte(t *testing.T) {
	budget := NewBudget(Limit) // room for one large upload
	first := NewBody(bytes.NewReader(randomBytes(10)), -1, budget)
	require.False(t, first.NoRoom())

	data := randomBytes(5000)
	b := NewBody(bytes.NewReader(data), -1, budget)
	require.True(t, b.NoRoom(), "the bound is taken by the first upload")
	require.EqualValues(t, 1, budget.Stats().NoRoom)
	require.EqualValues(t, Limit, budget.Held(), "an upload without room reserves nothing")

	// Bee refused before reading anything: the body can still go out whole.
	again, ok := b.Replay()
	require.True(t, ok)
	all, err := io.ReadAll(again)
	require.NoError(t, err)
	require.Equal(t, data, all)

	c := NewBody(bytes.NewReader(data), -1, budget)
	_, err = c.Read(make([]byte, 100))
	require.NoError(t, err)
	_, ok = c.Replay()
	require.False(t, ok, "bytes went out and none were kept")

	first.Release()
	require.Zero(t, budget.Held())
	d := NewBody(bytes.NewReader(data), -1, budget)
	require.False(t, d.NoRoom(), "room again once the holder ended")
	d.Release()
}

func TestBodyReleaseStopsLateReads(t *testing.T) {
	budget := NewBudget(64 << 20)
	for _, size := range []int64{10, 2 << 20, -1} { // exact buffer, full buffer, unknown length
		b := NewBody(bytes.NewReader(randomBytes(3000)), size, budget)
		_, err := b.Read(make([]byte, 100))
		require.NoError(t, err)
		b.Release()
		// A transport still reading after the handler returned must not touch the buffer,
		// which may already serve another upload.
		_, err = b.Read(make([]byte, 100))
		require.ErrorIs(t, err, ErrDetached)
		_, ok := b.Replay()
		require.False(t, ok)
		b.Release() // twice is harmless
		require.Zero(t, budget.Held())
	}
}

// A replay reader still read by its attempt's transport after Release gets an error, never
// the recycled buffer.
func TestReplayReaderAfterReleaseFails(t *testing.T) {
	budget := NewBudget(64 << 20)
	b := NewBody(bytes.NewReader(randomBytes(3000)), -1, budget)
	_, err := b.Read(make([]byte, 1000))
	require.NoError(t, err)
	again, ok := b.Replay()
	require.True(t, ok)
	_, err = again.Read(make([]byte, 10))
	require.NoError(t, err)
	b.Release()
	require.Zero(t, budget.Held())
	_, err = again.Read(make([]byte, 10))
	require.ErrorIs(t, err, ErrDetached)
}

// Release must not wait for a read stalled on a slow client (the handler would hang), and
// that read, once it returns, must leave the released buffer alone.
func TestBodyReleaseDoesNotWaitForAStalledRead(t *testing.T) {
	budget := NewBudget(64 << 20)
	pr, pw := io.Pipe()
	waiting := make(chan struct{})
	b := NewBody(&signalingReader{r: pr, entered: waiting}, 2<<20, budget)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _ = b.Read(make([]byte, 100))
	}()
	<-waiting // the read waits on the client
	released := make(chan struct{})
	go func() { b.Release(); close(released) }()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("release waited for the client")
	}
	require.Zero(t, budget.Held())
	_, _ = pw.Write([]byte("late bytes"))
	<-readDone
	require.Nil(t, b.kept, "a read finishing after release touched the buffer")
}

// signalingReader closes entered when its first Read begins.
type signalingReader struct {
	r       io.Reader
	entered chan struct{}
}

func (s *signalingReader) Read(p []byte) (int, error) {
	if s.entered != nil {
		close(s.entered)
		s.entered = nil
	}
	return s.r.Read(p)
}
