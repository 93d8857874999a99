package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the injection path's memory and slow-client guards.
var (
	// ReplayNoRoom counts injected uploads streamed without a replay copy.
	ReplayNoRoom = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "replay", Name: "no_room_total",
		Help: "Injected uploads streamed without a replay copy because max_replay_memory was reached.",
	})

	// UploadsIdleEnded counts injected uploads ended by upload_idle_timeout.
	UploadsIdleEnded = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Name: "uploads_idle_ended_total",
		Help: "Injected uploads ended because the client sent nothing for upload_idle_timeout.",
	})
)

// ReplayHeld reports, at scrape time, the bytes held by replay copies (held reads them).
func ReplayHeld(held func() int64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "replay", Name: "held_bytes",
		Help: "Bytes held by replay copies of injected uploads in flight (bounded by max_replay_memory).",
	}, func() float64 { return float64(held()) })
}

func init() {
	allCollectors = append(allCollectors, ReplayNoRoom, UploadsIdleEnded)
}

// Injection counts the injector's outcomes (inject.Observer).
type Injection struct{}

// Injection counts one injected upload's result.
func (Injection) Injection(result string) { Injections.WithLabelValues(result).Inc() }

// ReplayNoRoom counts an upload streamed without a replay copy.
func (Injection) ReplayNoRoom() { ReplayNoRoom.Inc() }

// IdleEnded counts an upload ended for sending nothing.
func (Injection) IdleEnded() { UploadsIdleEnded.Inc() }
