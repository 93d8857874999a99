package caddymodule

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the injection path's memory and slow-client guards; they join allCollectors,
// so every provision registers them with the rest.
var (
	replayHeldBytes = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy_bee", Subsystem: "replay", Name: "held_bytes",
		Help: "Bytes held by replay copies of injected uploads in flight (bounded by max_replay_memory).",
	}, func() float64 { return float64(replayMemory.Held()) })

	replayNoRoom = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Subsystem: "replay", Name: "no_room_total",
		Help: "Injected uploads streamed without a replay copy because max_replay_memory was reached.",
	})

	uploadsIdleEnded = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy_bee", Name: "uploads_idle_ended_total",
		Help: "Injected uploads ended because the client sent nothing for upload_idle_timeout.",
	})
)

func init() {
	allCollectors = append(allCollectors, replayHeldBytes, replayNoRoom, uploadsIdleEnded)
}

// injectionMetrics counts the injector's outcomes (inject.Observer).
type injectionMetrics struct{}

func (injectionMetrics) Injection(result string) { metrics.injections.WithLabelValues(result).Inc() }
func (injectionMetrics) ReplayNoRoom()           { replayNoRoom.Inc() }
func (injectionMetrics) IdleEnded()              { uploadsIdleEnded.Inc() }
