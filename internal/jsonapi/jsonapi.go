// Package jsonapi writes the admin API's JSON answers, the same way for
// every stage that serves part of it.
package jsonapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Write answers code with v as JSON.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Error answers code with {"error": msg}.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, map[string]string{"error": msg})
}

// Limit reads the query parameter limit: def when absent, an error that
// says what to give when it is not a number from 1 to most.
func Limit(r *http.Request, def, most int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, fmt.Errorf("limit must be a number from 1 to %d", most)
	}
	return n, nil
}
