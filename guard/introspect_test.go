package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// apiKeyAnswers is a transport that answers every introspection as an
// active API key whose key_id is the key itself, after waiting on gate.
func apiKeyAnswers(calls *atomic.Int32, gate <-chan struct{}) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		<-gate
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		body, _ := json.Marshal(map[string]any{"active": true, "token_type": "api_key", "sub": "user-1",
			"key_id": form.Get("token")[:15], "scope": "read"})
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(string(body))), Request: r}, nil
	})
}

// TestIntrospectorOneRequestPerCredential: concurrent first uses of one
// key make one request and share its answer; a caller that gives up does
// not end it for the others.
func TestIntrospectorOneRequestPerCredential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		gate := make(chan struct{})
		in := guard.NewTestIntrospector(apiKeyAnswers(&calls, gate), time.Now, 100)
		key := mustWellFormedKey(t, "gk_")
		gone, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() {
			var ue *guard.UnavailableError
			if _, err := in.VerifyAPIKey(gone, key); !errors.As(err, &ue) {
				t.Errorf("VerifyAPIKey(cancelled) error = %v, want *guard.UnavailableError", err)
			}
		})
		for range 20 {
			wg.Go(func() {
				if p, err := in.VerifyAPIKey(t.Context(), key); err != nil || p.KeyID != key[:15] {
					t.Errorf("VerifyAPIKey() = %+v, %v", p, err)
				}
			})
		}
		synctest.Wait() // every caller waits for the one request
		if n := calls.Load(); n != 1 {
			t.Errorf("%d introspection requests for 21 concurrent callers, want 1", n)
		}
		cancel()
		synctest.Wait()
		close(gate)
		wg.Wait()
		if _, err := in.VerifyAPIKey(t.Context(), key); err != nil || calls.Load() != 1 {
			t.Errorf("a later call: %v, %d requests; want the cached answer", err, calls.Load())
		}
	})
}

// TestIntrospectorCacheBound: the cache keeps at most its size.
func TestIntrospectorCacheBound(t *testing.T) {
	var calls atomic.Int32
	gate := make(chan struct{})
	close(gate)
	in := guard.NewTestIntrospector(apiKeyAnswers(&calls, gate), func() time.Time { return testNow }, 3)
	for range 10 {
		if _, err := in.VerifyAPIKey(t.Context(), mustWellFormedKey(t, "gk_")); err != nil {
			t.Fatal(err)
		}
		if n := in.Len(); n > 3 {
			t.Fatalf("Len() = %d, want at most 3", n)
		}
	}
}
