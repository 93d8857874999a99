package coalesce

import (
	"net/http"
	"sync/atomic"
	"time"
)

// upstreamJob is one flight's upstream call, handed to a worker by value (no allocation).
type upstreamJob struct {
	f        *flight
	upstream Upstream
	req      *http.Request
}

// workers runs flights' upstream calls on goroutines kept for the next call. A fresh
// goroutine per flight starts with a small stack that reverse_proxy's deep call chain
// grows by copying, on every request (measured: about a sixth of the CPU of an unshared
// GET); a kept goroutine's stack is already grown, as net/http's connection goroutines
// are for a plain proxy.
type workers struct {
	jobs chan upstreamJob // unbuffered: a send succeeds only when a worker is idle
	idle atomic.Int32
}

const (
	// workerIdleTimeout ends a worker that got no call for this long.
	workerIdleTimeout = 2 * time.Second
	// maxIdleWorkers bounds the goroutines kept waiting; a burst beyond it ends its extras.
	maxIdleWorkers = 256
)

func newWorkers() *workers { return &workers{jobs: make(chan upstreamJob)} }

// run starts job on an idle worker, or on a new one when none is idle.
func (w *workers) run(g *Group, job upstreamJob) {
	select {
	case w.jobs <- job:
	default:
		go w.loop(g, job)
	}
}

func (w *workers) loop(g *Group, job upstreamJob) {
	var timer *time.Timer
	for {
		g.run(job.f, job.upstream, job.req)
		job = upstreamJob{} // keep nothing of the finished flight alive while idle
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		if timer == nil {
			timer = time.NewTimer(workerIdleTimeout)
		} else {
			timer.Reset(workerIdleTimeout)
		}
		select {
		case job = <-w.jobs:
			w.idle.Add(-1)
		case <-timer.C:
			w.idle.Add(-1)
			return
		}
	}
}
