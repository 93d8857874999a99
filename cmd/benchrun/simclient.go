package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// simClient drives the Bee simulator's /_beesim/ control API.
type simClient struct {
	url  string
	http *http.Client
}

type simStats struct {
	Requests  map[string]int64 `json:"requests"`
	Downloads int64            `json:"downloads"`
	Uploads   int64            `json:"uploads"`
	Purchases int64            `json:"purchases"`
	// BytesServed counts a download's body when it ends.
	BytesServed int64 `json:"bytes_served"`
}

func (s *simClient) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("simulator %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("simulator %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func (s *simClient) stats() (simStats, error) {
	var st simStats
	err := s.do(http.MethodGet, "/_beesim/stats", nil, &st)
	return st, err
}

// synthetic registers generated content and returns its reference.
func (s *simClient) synthetic(size, seed int64) (string, error) {
	var out struct {
		Reference string `json:"reference"`
	}
	err := s.do(http.MethodPost, fmt.Sprintf("/_beesim/synthetic?size=%d&seed=%d", size, seed), nil, &out)
	return out.Reference, err
}

// syntheticAddressed registers generated content under its real /bytes reference.
func (s *simClient) syntheticAddressed(size, seed int64) (string, error) {
	var out struct {
		Reference string `json:"reference"`
	}
	err := s.do(http.MethodPost, fmt.Sprintf("/_beesim/synthetic?size=%d&seed=%d&addressed=1", size, seed), nil, &out)
	return out.Reference, err
}

// setDownloadLatency delays every download's headers, like a Bee retrieval from the network.
func (s *simClient) setDownloadLatency(d time.Duration) error {
	if d <= 0 {
		return s.do(http.MethodDelete, "/_beesim/faults", nil, nil)
	}
	return s.do(http.MethodPut, "/_beesim/faults", map[string]any{
		"classes": map[string]any{"download": map[string]any{"latency": d}},
	}, nil)
}
