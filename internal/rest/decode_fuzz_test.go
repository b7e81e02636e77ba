package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

type decodeTarget struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// FuzzDecodeJSON: decodeJSON accepts a body only when it is one JSON value
// (or nothing) with nothing but white space around it, and refuses
// everything else with a 400 or 413 *Error, never a panic.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{``, `{}`, `{} `, `{}]`, `{}}`, `{} {}`, `{"name":"a"}`, `{"name":"a"}]]`,
		`{"scopes":["a"]}x`, `[]`, `null`, `{"x":1}`, "{}\n", `{"name":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		var v decodeTarget
		err := decodeJSON(r, &v)
		if err == nil {
			if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
				t.Fatalf("decodeJSON(%q) = nil, want an error: not one JSON value", body)
			}
			return
		}
		var ae *Error
		if !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("decodeJSON(%q) = %v, want a 400 or 413 *Error", body, err)
		}
	})
}
