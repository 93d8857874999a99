package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

// SimControl drives a Bee simulator's /_beesim/ control API (internal/beesim/control.go)
// over HTTP, for tests and tools that run the simulator as a separate process.
type SimControl struct {
	URL    string       // the simulator's base URL
	Client *http.Client // nil: http.DefaultClient
}

// Stats are the simulator's counters.
func (s SimControl) Stats() (beesim.Stats, error) {
	var st beesim.Stats
	err := s.do(http.MethodGet, "/_beesim/stats", nil, &st)
	return st, err
}

// ResetStats zeroes the counters.
func (s SimControl) ResetStats() error { return s.do(http.MethodDelete, "/_beesim/stats", nil, nil) }

// Batches lists every batch on the simulated chain, listed by /stamps or not.
func (s SimControl) Batches() ([]beesim.BatchInfo, error) {
	var out []beesim.BatchInfo
	err := s.do(http.MethodGet, "/_beesim/batches", nil, &out)
	return out, err
}

// SetFaults replaces the simulator's fault state.
func (s SimControl) SetFaults(f beesim.Faults) error {
	return s.do(http.MethodPut, "/_beesim/faults", f, nil)
}

// ClearFaults clears every fault.
func (s SimControl) ClearFaults() error { return s.do(http.MethodDelete, "/_beesim/faults", nil, nil) }

// SetDownloadLatency delays every download's headers, like a Bee retrieval from the
// network; 0 clears every fault.
func (s SimControl) SetDownloadLatency(d time.Duration) error {
	if d <= 0 {
		return s.ClearFaults()
	}
	return s.SetFaults(beesim.Faults{Classes: map[string]beesim.ClassFault{beesim.ClassDownload: {Latency: d}}})
}

// Synthetic registers size bytes of generated content and returns its reference;
// addressed registers it under its real /bytes reference (so caches can verify it).
func (s SimControl) Synthetic(size, seed int64, addressed bool) (string, error) {
	path := fmt.Sprintf("/_beesim/synthetic?size=%d&seed=%d", size, seed)
	if addressed {
		path += "&addressed=1"
	}
	var out struct {
		Reference string `json:"reference"`
	}
	err := s.do(http.MethodPost, path, nil, &out)
	return out.Reference, err
}

func (s SimControl) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(s.URL, "/")+path, rd)
	if err != nil {
		return err
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("simulator %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("simulator %s %s: %s: %s (is %s a Bee simulator?)", method, path, resp.Status, b, s.URL)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("simulator %s %s: decode: %w", method, path, err)
		}
		return nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// GetJSON decodes the JSON answer of GET url into out, whatever the status.
func GetJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}
