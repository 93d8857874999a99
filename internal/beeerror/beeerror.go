// Package beeerror writes the gateway's JSON answers: refusals in Bee's own error shape, so
// clients handle them like Bee's, and the plugin API's answers.
//
// Refusals are written as complete responses rather than returned as Caddy errors, so a
// site's handle_errors block cannot restyle them into something Bee clients do not parse.
package beeerror

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Envelope is Bee's error body.
type Envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Write answers in Bee's error shape. It returns nil unless the write failed: the response
// is complete.
func Write(w http.ResponseWriter, status int, message string) error {
	return WriteJSON(w, status, Envelope{Code: status, Message: message})
}

// WriteDetail answers in the pool API's error shape (`{"detail": ...}`), after swarm_connect.
func WriteDetail(w http.ResponseWriter, status int, detail any) error {
	return WriteJSON(w, status, map[string]any{"detail": detail})
}

// WriteJSON answers status with v as JSON and a trailing newline.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}

// Message returns the message of a Bee error body, "" when body is not one.
func Message(body []byte) string {
	var envelope struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &envelope)
	return envelope.Message
}

// RetryAfterSeconds is d as a Retry-After value: whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
