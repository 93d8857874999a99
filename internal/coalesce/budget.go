package coalesce

import "sync/atomic"

// budget is a global bound on bytes held (in memory or on disk) across flights.
type budget struct {
	limit int64
	used  atomic.Int64
	peak  atomic.Int64
	// held reports every change, for metrics.
	held func(delta int64)
}

func newBudget(limit int64, held func(int64)) *budget {
	return &budget{limit: limit, held: held}
}

// tryAcquire takes n bytes if they fit under the limit.
func (b *budget) tryAcquire(n int64) bool {
	if n <= 0 {
		return true
	}
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			b.notePeak(used + n)
			b.held(n)
			return true
		}
	}
}

func (b *budget) release(n int64) {
	if n <= 0 {
		return
	}
	b.used.Add(-n)
	b.held(-n)
}

func (b *budget) notePeak(n int64) {
	for {
		old := b.peak.Load()
		if n <= old || b.peak.CompareAndSwap(old, n) {
			return
		}
	}
}
