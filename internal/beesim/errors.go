package beesim

import (
	"encoding/json"
	"net/http"
)

type reason struct {
	Field string `json:"field"`
	Error string `json:"error"`
}

type beeError struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Reasons []reason `json:"reasons,omitempty"`
}

// writeError answers in Bee's error envelope.
func writeError(w http.ResponseWriter, status int, message string, reasons ...reason) {
	writeJSON(w, status, beeError{Code: status, Message: message, Reasons: reasons})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
