package inject

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/nodes"
	"github.com/swarmgate/caddy-bee/internal/pool"
	"github.com/swarmgate/caddy-bee/internal/replay"
)

// Node is a Bee node injected uploads can go to.
type Node interface {
	nodes.Node
	// Avoid keeps injected uploads away from the node for a while: it just failed one.
	Avoid(now time.Time)
	// Name labels the node in logs.
	Name() string
}

// Recorder is a response writer that holds back the answers its hold function picks
// (Caddy's caddyhttp.ResponseRecorder is one).
type Recorder interface {
	http.ResponseWriter
	Status() int
	Buffer() *bytes.Buffer
	Buffered() bool
	WriteResponse() error
}

// Observer counts what the injector does.
type Observer interface {
	// Injection counts an injected upload's outcome: ok, retried, rejected, refused,
	// node_failed or unavailable.
	Injection(result string)
	// ReplayNoRoom counts an upload streamed without a replay copy (the bound was reached).
	ReplayNoRoom()
	// IdleEnded counts an upload ended because its client went silent.
	IdleEnded()
}

// Injector serves the uploads that ask for a pool batch. Set every field before the first
// request; use it by pointer.
type Injector struct {
	// Nodes are the Bee nodes, the single one included; Multi: several of them, among
	// which uploads spread and fail over.
	Nodes []Node
	Multi bool

	Replay      *replay.Budget // holds the replay copies of every injected upload
	ReplayWait  time.Duration  // how long a retry waits for the first attempt's body read to return
	IdleTimeout time.Duration  // ends an upload whose client sent nothing for this long

	// RetryAfter estimates when some node will have a usable batch.
	RetryAfter func() time.Duration
	Logger     *zap.Logger
	Observer   Observer

	// NewRecorder wraps w, holding back the answers whose status hold picks.
	NewRecorder func(w http.ResponseWriter, hold func(status int) bool) Recorder
	// HTTPError turns an error into the server's error answer of status.
	HTTPError func(status int, err error) error
	// OnBatch is told the batch injected into r (for access logs).
	OnBatch func(r *http.Request, id string)
	// Route pins r to node n (with several nodes).
	Route func(r *http.Request, n Node)

	spread atomic.Uint64 // round robin of injected uploads over the nodes
}

// Serve uploads r with a pool batch through next. Bee's refusals (402, 404, 422) are held
// back until read: only one whose message names the batch, confirmed by Bee's own view of
// the batch, retires it, and then, if Bee had read no more than replay.Limit bytes of the
// body (and the upload holds a replay copy), the upload goes once more with another batch.
// Every other answer reaches the client as Bee gave it: an anonymous request can neither
// retire a batch nor make the pool buy one.
func (in *Injector) Serve(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request) error) error {
	var b *body
	if r.Body != nil && r.Body != http.NoBody {
		b = in.newBody(w, r)
		defer b.release()
		var endUnread func()
		w, endUnread = guardUnreadBody(w, r, b)
		defer endUnread()
		// Bee may answer before the body is all in (a refusal checks the batch first). Without
		// full duplex, Go's HTTP/1 server would hold that answer back until it had read the
		// rest of the body, which the proxy's transport may be waiting on: a client stalled
		// mid-body would then never get it. (HTTP/2 is full duplex already: error ignored.)
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	tried := map[Node]bool{}
	node, batch, err := in.choose(r, tried, canReplay(r, b))
	batchRetried := false
	for attempt := 1; ; attempt++ {
		if err != nil {
			in.Observer.Injection("unavailable")
			return in.writeNoBatch(w, err)
		}
		p := node.StampPool()
		in.setBatch(r, batch.ID)
		if in.Multi {
			in.Route(r, node)
		}
		counted := &countingReader{ReadCloser: r.Body}
		r.Body = counted

		// A buffered (refused) attempt still wrote its headers into w's map: keep a copy
		// to start the retry clean.
		headerBefore := w.Header().Clone()
		// Refusals are small JSON bodies: hold them back, on every attempt, to read them.
		// With several nodes a node's failure is held back too: another node may take it.
		rec := in.NewRecorder(w, func(status int) bool {
			return mayRefuseBatch(status) || in.Multi && nodeFailed(status)
		})
		err = next(rec, r)
		r.Body = counted.ReadCloser
		if b != nil && b.idle.EndedIdle() {
			return in.endIdleUpload(rec, err)
		}
		if !rec.Buffered() {
			if err == nil && rec.Status() < 300 {
				p.RecordUpload(batch.ID, StampedBytes(r, counted.n))
				result := "ok"
				if attempt > 1 {
					result = "retried"
				}
				in.Observer.Injection(result)
			}
			return err
		}
		if in.Multi && (err != nil && rec.Status() == 0 || nodeFailed(rec.Status())) {
			// The node is down, syncing or failing uploads: avoid it for a while and send
			// the upload once more to another node, with that node's batch.
			node.Avoid(time.Now())
			tried[node] = true
			in.Logger.Warn("bee node failed an injected upload; trying another node",
				zap.String("node", node.Name()), zap.Int("status", rec.Status()), zap.Error(err))
			nextNode, nextBatch, perr := in.chooseForRetry(r, tried)
			if perr == nil {
				if again, ok := in.replayBody(r, b); ok {
					in.Observer.Injection("node_failed")
					r.Body = again
					clear(w.Header())
					maps.Copy(w.Header(), headerBefore)
					node, batch, err = nextNode, nextBatch, nil
					continue
				}
			}
			if err != nil {
				return err
			}
			return rec.WriteResponse()
		}
		if err != nil {
			return err
		}
		refusal := in.confirmRefusal(r, p, batch, rec)
		if batchRetried || refusal == pool.RefusalKept {
			return rec.WriteResponse()
		}
		avoid := "" // a batch that refused this upload with a bucket overflow but stays in service
		if refusal == pool.RefusalOverflow {
			avoid = batch.ID
		}
		// Bee refused the batch. Send the body again, unless too much of it is gone.
		again, ok := in.replayBody(r, b)
		if !ok {
			return rec.WriteResponse()
		}
		batchRetried = true
		r.Body = again
		clear(w.Header())
		maps.Copy(w.Header(), headerBefore)
		in.Logger.Info("retrying upload with another batch", zap.Int("rejected_status", rec.Status()))
		batch, err = p.ActiveForUpload(r.Context(), StampedBytes(r, r.ContentLength), false, avoid)
		if errors.Is(err, pool.ErrEmpty) { // see chooseForRetry
			batch, err = p.ActiveForUpload(r.Context(), StampedBytes(r, r.ContentLength), true, avoid)
		}
	}
}

// chooseForRetry picks the node and batch for an upload's last attempt (a body replays once):
// a batch it would not overflow where one exists, else the least risky one, since a 503 would
// fail the upload for certain where a second 402 is unlikely. The strict ask still tells the
// pool to make room.
func (in *Injector) chooseForRetry(r *http.Request, skip map[Node]bool) (Node, pool.Batch, error) {
	n, b, err := in.choose(r, skip, false)
	if errors.Is(err, pool.ErrEmpty) {
		return in.choose(r, skip, true)
	}
	return n, b, err
}

// canReplay: whether the upload's first attempt can go again after Bee's 402 (no body, or a
// body of known length within replay.Limit that holds a replay copy). One that cannot is
// given only a batch it would not overflow (pool.ActiveForUpload).
func canReplay(r *http.Request, b *body) bool {
	return b == nil || r.ContentLength >= 0 && r.ContentLength <= replay.Limit && !b.NoRoom()
}

// choose picks the node and batch for an injected upload (see nodes.Choose); an upload that
// cannot be sent again (replayable false) gets only a batch it would not overflow.
func (in *Injector) choose(r *http.Request, skip map[Node]bool, replayable bool) (Node, pool.Batch, error) {
	size := StampedBytes(r, r.ContentLength)
	if !in.Multi {
		n := in.Nodes[0]
		b, err := n.StampPool().ActiveForUpload(r.Context(), size, replayable, "")
		return n, b, err
	}
	n, b, err := nodes.Choose(r.Context(), in.Nodes, in.spread.Add(1), size, replayable, time.Now(), skip)
	return n, b, err
}

func (in *Injector) setBatch(r *http.Request, id string) {
	r.Header.Set(BatchHeader, id)
	r.Header.Del(PinHeader) // public pinning is free hosting
	in.OnBatch(r, id)
}

// endIdleUpload answers an upload whose client went silent with 408; nothing is recorded
// against the batch (Bee got a cut body and stored nothing). Over HTTP/1 the failed read also
// cancels the request, and reverse_proxy may have answered 499 already: that answer stands.
func (in *Injector) endIdleUpload(rec Recorder, err error) error {
	in.Observer.IdleEnded()
	in.Logger.Info("injected upload ended: the client sent nothing within upload_idle_timeout",
		zap.Duration("upload_idle_timeout", in.IdleTimeout), zap.Error(err))
	if !rec.Buffered() {
		return err // the response went out already
	}
	return in.HTTPError(http.StatusRequestTimeout,
		fmt.Errorf("upload ended: nothing received for %s; send the body without pauses: %w", in.IdleTimeout, replay.ErrIdle))
}
