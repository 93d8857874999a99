package caddymodule

import (
	"encoding/json"
	"net/http"
)

// beeError is Bee's error envelope, so clients handle the gateway's refusals like Bee's own.
type beeError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeBeeError answers in Bee's error shape. It returns nil: the response is complete.
func writeBeeError(w http.ResponseWriter, status int, message string) error {
	return writeJSON(w, status, beeError{Code: status, Message: message})
}

// writeDetail answers in the pool API's error shape (`{"detail": ...}`), after swarm_connect.
func writeDetail(w http.ResponseWriter, status int, detail any) error {
	return writeJSON(w, status, map[string]any{"detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}
