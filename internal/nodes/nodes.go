// Package nodes holds what the gateway knows about the Bee nodes it fronts: their
// configuration and pool plans (config.go), their names, which node owns a batch, which
// nodes to avoid after a failed upload, and which node and batch an injected upload goes
// to. Caddy's health checks come in through Node.Usable (Member.Reachable).
package nodes

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/swarmgate/caddy-bee/internal/pool"
)

// Node is a Bee node with a stamp pool of its own (or none).
type Node interface {
	// StampPool is the node's pool; nil: the node keeps none.
	StampPool() *pool.Pool
	// Usable reports whether injected uploads may go to the node now.
	Usable(now time.Time) bool
}

// AvoidTime is how long injected uploads avoid a node that just failed one.
const AvoidTime = 30 * time.Second

// Avoidance is a node's record of a failed upload: the zero value avoids nothing.
type Avoidance struct {
	until atomic.Int64 // unix nanoseconds
}

// Avoid keeps injected uploads away for AvoidTime from now.
func (a *Avoidance) Avoid(now time.Time) { a.until.Store(now.Add(AvoidTime).UnixNano()) }

// Avoided reports whether uploads still avoid the node at now.
func (a *Avoidance) Avoided(now time.Time) bool { return now.UnixNano() < a.until.Load() }

// ErrNoNode: no node has a usable batch.
var ErrNoNode = errors.New("no Bee node has a usable batch")

// Choose picks the node and batch for an injected upload of size stamped bytes (replayable:
// whether it can be sent again after a 402; see pool.ActiveForUpload): round robin
// from start over the nodes not in skip whose pool has a usable batch, usable nodes first
// (Caddy's health checks and the record of failed uploads); a node that is not usable is
// tried only when no usable one can take the upload.
func Choose[N comparableNode](ctx context.Context, list []N, start uint64, size int64, replayable bool, now time.Time, skip map[N]bool) (N, pool.Batch, error) {
	var none N
	first := int(start % uint64(len(list)))
	var firstErr error
	for _, healthy := range []bool{true, false} {
		for i := range list {
			n := list[(first+i)%len(list)]
			p := n.StampPool()
			if p == nil || skip[n] || n.Usable(now) != healthy || !p.HasUsable() {
				continue
			}
			b, err := p.ActiveForUpload(ctx, size, replayable, "")
			if err == nil {
				return n, b, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if firstErr != nil {
		return none, pool.Batch{}, firstErr
	}
	return none, pool.Batch{}, ErrNoNode
}

// comparableNode: a Node that can key a map (a pointer or an interface value).
type comparableNode interface {
	Node
	comparable
}

// Owner returns the node whose pool bought batch id.
func Owner[N Node](ctx context.Context, list []N, id string) (N, bool) {
	for _, n := range list {
		if p := n.StampPool(); p != nil && p.Owns(ctx, id) {
			return n, true
		}
	}
	var none N
	return none, false
}

// LabelPattern is what a node label must match: it names the node in API answers and logs.
var LabelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// Label returns the label of the i-th node (from 0), node1, node2... when none is given,
// after checking it names the node in API answers and logs safely.
func Label(i int, label string) (string, error) {
	if label == "" {
		label = fmt.Sprintf("node%d", i+1)
	}
	return ParseLabel(fmt.Sprintf("node %d label", i+1), label)
}

// ParseLabel checks a node label (LabelPattern); name is the option as errors call it.
func ParseLabel(name, label string) (string, error) {
	if !LabelPattern.MatchString(label) {
		return "", fmt.Errorf("%s %q: want 1-32 letters, digits, '-', '_' or '.', starting with a letter or digit", name, label)
	}
	return label, nil
}
