package beesim

import (
	"sync"
	"sync/atomic"
)

// Stats counts what reached the simulator; tests and benchmarks assert upstream counts on it.
type Stats struct {
	// Requests per "METHOD class", e.g. "GET download", "POST upload", "GET stamps".
	Requests      map[string]int64 `json:"requests"`
	Downloads     int64            `json:"downloads"` // GET/HEAD of content routes
	Uploads       int64            `json:"uploads"`   // uploads accepted past the batch checks
	Purchases     int64            `json:"purchases"` // batches created (HTTP or CreateBatch)
	TopUps        int64            `json:"topups"`
	Dilutes       int64            `json:"dilutes"`
	BytesServed   int64            `json:"bytes_served"`
	BytesUploaded int64            `json:"bytes_uploaded"`
	Pins          int64            `json:"pins"` // uploads that asked to pin (Swarm-Pin: true)
}

type statsCounters struct {
	mu            sync.Mutex
	requests      map[string]int64
	downloads     atomic.Int64
	uploads       atomic.Int64
	purchases     atomic.Int64
	topUps        atomic.Int64
	dilutes       atomic.Int64
	bytesServed   atomic.Int64
	bytesUploaded atomic.Int64
	pins          atomic.Int64
}

func newStatsCounters() statsCounters { return statsCounters{requests: map[string]int64{}} }

func (c *statsCounters) request(method, class string) {
	c.mu.Lock()
	c.requests[method+" "+class]++
	c.mu.Unlock()
	if class == ClassDownload {
		c.downloads.Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() Stats {
	c := &s.stats
	c.mu.Lock()
	req := make(map[string]int64, len(c.requests))
	for k, v := range c.requests {
		req[k] = v
	}
	c.mu.Unlock()
	return Stats{Requests: req, Downloads: c.downloads.Load(), Uploads: c.uploads.Load(),
		Purchases: c.purchases.Load(), TopUps: c.topUps.Load(), Dilutes: c.dilutes.Load(),
		BytesServed: c.bytesServed.Load(), BytesUploaded: c.bytesUploaded.Load(), Pins: c.pins.Load()}
}

// ResetStats zeroes the request counters (not the chain).
func (s *Sim) ResetStats() {
	c := &s.stats
	c.mu.Lock()
	c.requests = map[string]int64{}
	c.mu.Unlock()
	for _, v := range []*atomic.Int64{&c.downloads, &c.uploads, &c.purchases, &c.topUps, &c.dilutes, &c.bytesServed, &c.bytesUploaded, &c.pins} {
		v.Store(0)
	}
}
