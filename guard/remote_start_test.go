package guard_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/guard"
)

// logBuffer collects a logger's text output; it is safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestNewRemoteRefusedIsAConfigError: a 401 or 403 from any endpoint
// NewRemote needs (or a wrong client secret) fails at once, with an error
// that names the client and the endpoint and never the secret, instead of
// retrying until the deadline.
func TestNewRemoteRefusedIsAConfigError(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		path   string // answered with status
		status int
		want   string // the endpoint the error must name
	}{
		{name: "wrong client secret", secret: "wrong-secret", want: "/introspect"},
		{name: "feed forbidden", path: "/oauth2/revocations", status: http.StatusForbidden, want: "/oauth2/revocations"},
		{name: "feed unauthorized", path: "/oauth2/revocations", status: http.StatusUnauthorized, want: "/oauth2/revocations"},
		{name: "introspection unauthorized", path: "/introspect", status: http.StatusUnauthorized, want: "/introspect"},
		{name: "discovery forbidden", path: "/.well-known/openid-configuration", status: http.StatusForbidden, want: "/.well-known/openid-configuration"},
		{name: "JWKS forbidden", path: "/jwks", status: http.StatusForbidden, want: "/jwks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t)
			f.publish("k1", &mustECKey(t).PublicKey)
			if tc.path != "" {
				f.fail(tc.path, tc.status, -1)
			}
			secret := cmpOr(tc.secret, "rs-secret")
			// The deadline only keeps a broken guard from hanging the test.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			r, err := guard.NewRemote(ctx, guard.RemoteConfig{Issuer: f.srv.URL, ClientID: "rs", ClientSecret: secret})
			if err == nil {
				r.Close()
				t.Fatal("NewRemote() error = nil")
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("NewRemote() error = %v: it waited for the deadline instead of failing at once", err)
			}
			msg := err.Error()
			t.Logf("NewRemote() error = %s", msg)
			if !strings.Contains(msg, f.srv.URL+tc.want) || strings.Contains(msg, secret) {
				t.Errorf("NewRemote() error = %q, want it to name %s and not the secret", msg, f.srv.URL+tc.want)
			}
			if tc.want != "/jwks" && !strings.Contains(msg, "/.well-known") && !strings.Contains(msg, `"rs"`) {
				t.Errorf("NewRemote() error = %q, want it to name the client \"rs\"", msg)
			}
			var se *guard.StatusError
			if !errors.As(err, &se) || se.Status/100 != 4 {
				t.Errorf("NewRemote() error = %v, want a *guard.StatusError with a 4xx status", err)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestNewRemoteRetriesWhatCanHeal: 5xx answers at start are retried, with
// a log line each, until the server answers.
func TestNewRemoteRetriesWhatCanHeal(t *testing.T) {
	f := newFakeIssuer(t)
	f.publish("k1", &mustECKey(t).PublicKey)
	f.fail("/.well-known/openid-configuration", http.StatusServiceUnavailable, 2)
	f.fail("/jwks", http.StatusBadGateway, 1)
	f.fail("/introspect", http.StatusServiceUnavailable, 1)
	f.fail("/oauth2/revocations", http.StatusInternalServerError, 2)
	var logs logBuffer
	g := mustRemote(t, f, newClock(testNow), func(cfg *guard.RemoteConfig) { cfg.Guard.Logger = logs.logger() })
	if st := g.Status(); !st.Synced {
		t.Errorf("Status() = %+v, want synced", st)
	}
	for _, want := range []string{"/.well-known/openid-configuration", "/jwks", "/introspect", "/oauth2/revocations"} {
		if !strings.Contains(logs.String(), f.srv.URL+want) {
			t.Errorf("no log line names the retried %s; logs:\n%s", want, logs.String())
		}
	}
}

// TestRemoteFeedRefusedAtRunTime: when the feed starts refusing the
// guard's client (its secret rotated, the client deleted), the follower
// logs it at error level, naming the client and the feed, and the stale
// gate still closes after MaxStale.
func TestRemoteFeedRefusedAtRunTime(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	c := newClock(testNow)
	var logs logBuffer
	g := mustRemote(t, f, c, func(cfg *guard.RemoteConfig) {
		cfg.MaxStale = 30 * time.Second
		cfg.Guard.Logger = logs.logger()
	})
	tok := mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, nil))
	f.fail("/oauth2/revocations", http.StatusUnauthorized, -1)
	f.killStreams()
	eventually(t, "the refusal is logged at error level", func() bool {
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "level=ERROR") && strings.Contains(line, f.srv.URL+"/oauth2/revocations") &&
				strings.Contains(line, "rs") && !strings.Contains(line, "rs-secret") {
				return true
			}
		}
		return false
	})
	c.Advance(31 * time.Second)
	if got := status(t, g, bearerRequest(tok)); got != http.StatusServiceUnavailable {
		t.Errorf("beyond MaxStale with the feed refused: status %d, want 503", got)
	}
}

// TestBackoffDoesNotSpin: errors that can heal back off from 100 ms to
// 5 s; one that cannot (a refused client) waits the full 5 s at once, and
// so does every retry after it.
func TestBackoffDoesNotSpin(t *testing.T) {
	network := errors.New("connection refused")
	unavailable := &guard.StatusError{Status: http.StatusServiceUnavailable}
	refused := &guard.StatusError{Status: http.StatusUnauthorized, ClientID: "rs"}
	ms := time.Millisecond
	got := guard.Backoffs(network, unavailable, network, refused, network, network)
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("Backoffs() = %v, want %v", got, want)
	}
}
