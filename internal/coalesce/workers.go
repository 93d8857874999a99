package coalesce

import (
	"net/http"
	"sync/atomic"
	"time"
)

// upstreamJob is one flight's upstream call, handed to a worker by value (no allocation).
type upstreamJob struct {
	f        *flight
	upstream Handler
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

// loop runs job, then the jobs it is handed while idle. Its timer is re-armed when it
// fires, not after every call (a Reset per flight costs a timer-heap update under lock):
// a worker ends after one to two workerIdleTimeout periods without a call.
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
		}
		if !w.await(&job, timer) {
			return
		}
	}
}

// await waits for the next job; false means the worker was idle for a whole period since
// the last tick and ends.
func (w *workers) await(job *upstreamJob, timer *time.Timer) bool {
	worked := true // a job ran since the timer was last armed, or this is its first wait
	for {
		select {
		case *job = <-w.jobs:
			w.idle.Add(-1)
			return true
		case <-timer.C:
			if !worked {
				w.idle.Add(-1)
				return false
			}
			worked = false
			timer.Reset(workerIdleTimeout)
		}
	}
}
