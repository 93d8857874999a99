package replay

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A real connection: the client sends a little, then nothing; the read waiting on it fails
// with ErrIdle after the timeout.
func TestIdleReaderEndsASilentClient(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	r := NewIdleReader(server, server, 50*time.Millisecond, time.Time{}, nil)
	go func() { _, _ = client.Write([]byte("first bytes")) }()
	buf := make([]byte, 100)
	n, err := r.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "first bytes", string(buf[:n]))

	_, err = r.Read(buf) // the client says nothing more
	require.ErrorIs(t, err, ErrIdle)
	require.True(t, r.EndedIdle())
	require.True(t, r.Guarded())
	_, err = r.Read(buf)
	require.ErrorIs(t, err, ErrIdle, "an ended body stays ended")
}

// deadlines records what the reader asks of the connection.
type deadlines struct {
	set []time.Time
	err error
}

func (d *deadlines) SetReadDeadline(t time.Time) error {
	if d.err != nil {
		return d.err
	}
	d.set = append(d.set, t)
	return nil
}

// The deadline is armed only while a read waits on the client and is put back to the
// server's own deadline right after, so time the upstream takes between reads never counts.
func TestIdleReaderArmsOnlyDuringReads(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hard := now.Add(10 * time.Minute)
	conn := &deadlines{}
	r := NewIdleReader(strings.NewReader("abcdef"), conn, time.Minute, hard, func() time.Time { return now })
	buf := make([]byte, 3)
	for i := 0; i < 2; i++ {
		_, err := r.Read(buf)
		require.NoError(t, err)
		now = now.Add(5 * time.Minute) // the upstream is slow to ask for more
	}
	require.Equal(t, []time.Time{
		hard.Add(-10 * time.Minute).Add(time.Minute), hard,
		hard.Add(-5 * time.Minute).Add(time.Minute), hard,
	}, conn.set)
	_, err := r.Read(buf)
	require.ErrorIs(t, err, io.EOF)
	require.False(t, r.EndedIdle())
}

// timeoutReader fails as a connection whose deadline passed.
type timeoutReader struct{}

func (timeoutReader) Read([]byte) (int, error) {
	return 0, &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
}

// Near the server's whole-request deadline (Caddy's read_body), that deadline is used and its
// expiry is the server's timeout, not an idle client.
func TestIdleReaderKeepsTheServersDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hard := now.Add(10 * time.Second)
	conn := &deadlines{}
	r := NewIdleReader(timeoutReader{}, conn, time.Minute, hard, func() time.Time { return now })
	_, err := r.Read(make([]byte, 10))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NotErrorIs(t, err, ErrIdle)
	require.False(t, r.EndedIdle())
	require.Equal(t, []time.Time{hard, hard}, conn.set, "never later than the server's deadline")

	r = NewIdleReader(timeoutReader{}, &deadlines{}, time.Minute, time.Time{}, func() time.Time { return now })
	_, err = r.Read(make([]byte, 10))
	require.ErrorIs(t, err, ErrIdle)
}

func TestIdleReaderWithoutDeadlinesReadsUnguarded(t *testing.T) {
	conn := &deadlines{err: http.ErrNotSupported}
	r := NewIdleReader(strings.NewReader("abc"), conn, time.Minute, time.Time{}, nil)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "abc", string(b))
	require.False(t, r.Guarded())
}

// After Stop (the handler returned) a late read leaves the connection alone.
func TestIdleReaderStopLeavesTheConnectionAlone(t *testing.T) {
	conn := &deadlines{}
	r := NewIdleReader(strings.NewReader("abc"), conn, time.Minute, time.Time{}, nil)
	r.Stop()
	_, err := r.Read(make([]byte, 10))
	require.True(t, errors.Is(err, ErrDetached))
	require.Empty(t, conn.set)
}

// The deadline's error can end the request before the read waiting on the client returns
// (HTTP/1 cancels the request's context first): a read still waiting past its deadline
// already counts as idle; one within it does not.
func TestIdleReaderCountsAReadWaitingPastItsDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pr, pw := io.Pipe()
	waiting := make(chan struct{})
	r := NewIdleReader(&enterSignal{r: pr, entered: waiting}, &deadlines{}, time.Minute, time.Time{},
		func() time.Time { return now })
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = r.Read(make([]byte, 10))
	}()
	<-waiting
	require.False(t, r.EndedIdle(), "within the timeout")
	now = now.Add(time.Minute)
	require.True(t, r.EndedIdle(), "waiting past the deadline")
	_, _ = pw.Write([]byte("x"))
	<-done
	require.False(t, r.EndedIdle(), "the read returned data in the end")
}

type enterSignal struct {
	r       io.Reader
	entered chan struct{}
}

func (s *enterSignal) Read(p []byte) (int, error) {
	close(s.entered)
	return s.r.Read(p)
}
