package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrUnknownKey is the cause of a [RemoteKeySet] lookup for a kid that is
// not in the issuer's JWKS, even after a refetch.
var ErrUnknownKey = errors.New("guard: unknown key id")

// RemoteKeySet is a [KeySet] backed by a JWKS URL (RFC 7517). Keys are
// cached; an unknown kid triggers a refetch, with at most one fetch in
// flight and at least MinInterval between fetches started by unknown
// kids, so a flood of tokens with made-up kids cannot turn into a flood of
// fetches. A refetch that fails with a network error or a 5xx gives an
// [*UnavailableError] (the guard answers 503: the kid may be a new key). Each key's "alg" is the one algorithm accepted for it; keys
// without "alg", and keys not meant for signatures, are ignored. It is
// safe for concurrent use.
type RemoteKeySet struct {
	url         string
	client      *http.Client
	minInterval time.Duration
	now         func() time.Time

	mu        sync.RWMutex
	keys      map[string]jose.JSONWebKey
	lastFetch time.Time
	inflight  *fetchCall
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// NewRemoteKeySet returns a key set for the JWKS at url. A nil client
// means one with a 10s timeout; minInterval zero means 1s; now nil means
// time.Now. It fetches nothing until first asked.
func NewRemoteKeySet(url string, client *http.Client, minInterval time.Duration, now func() time.Time) *RemoteKeySet {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if minInterval <= 0 {
		minInterval = time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &RemoteKeySet{url: url, client: client, minInterval: minInterval, now: now}
}

var _ KeySet = (*RemoteKeySet)(nil)

// VerificationKey implements [KeySet].
func (s *RemoteKeySet) VerificationKey(ctx context.Context, kid string) (any, jose.SignatureAlgorithm, error) {
	if k, ok := s.lookup(kid); ok {
		return k.Key, jose.SignatureAlgorithm(k.Algorithm), nil
	}
	if err := s.refresh(ctx, false); err != nil {
		err = fmt.Errorf("guard: key %q: %w", kid, err)
		if !errors.Is(err, errTooSoon) && retryable(err) {
			// The JWKS could not be fetched: the kid may be a new key.
			err = &UnavailableError{Err: err}
		}
		return nil, "", err
	}
	if k, ok := s.lookup(kid); ok {
		return k.Key, jose.SignatureAlgorithm(k.Algorithm), nil
	}
	return nil, "", fmt.Errorf("key %q: %w", kid, ErrUnknownKey)
}

func (s *RemoteKeySet) lookup(kid string) (jose.JSONWebKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[kid]
	return k, ok
}

// Len returns the number of keys held.
func (s *RemoteKeySet) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}

// Refresh fetches the JWKS now, unless a fetch is already in flight, in
// which case it waits for that one. It ignores MinInterval: the remote
// guard calls it when the revocation feed announces a key change.
func (s *RemoteKeySet) Refresh(ctx context.Context) error { return s.refresh(ctx, true) }

// errTooSoon is returned when an unknown kid would refetch within
// MinInterval of the previous fetch.
var errTooSoon = errors.New("JWKS fetched too recently to refetch")

func (s *RemoteKeySet) refresh(ctx context.Context, force bool) error {
	s.mu.Lock()
	c := s.inflight
	if c == nil {
		now := s.now()
		if !force && !s.lastFetch.IsZero() && now.Sub(s.lastFetch) < s.minInterval && now.Sub(s.lastFetch) >= 0 {
			s.mu.Unlock()
			return errTooSoon
		}
		c = &fetchCall{done: make(chan struct{})}
		s.inflight, s.lastFetch = c, now
		// The fetch runs on its own so that a caller that gives up does
		// not cancel it for the others waiting.
		go s.fetch(c)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *RemoteKeySet) fetch(c *fetchCall) {
	keys, err := s.get()
	s.mu.Lock()
	if err == nil {
		s.keys = keys
	}
	s.inflight = nil
	s.mu.Unlock()
	c.err = err
	close(c.done)
}

func (s *RemoteKeySet) get() (map[string]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: %w", &StatusError{Method: http.MethodGet, URL: s.url, Status: resp.StatusCode})
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", s.url, badAnswer(err))
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.KeyID == "" || k.Algorithm == "" || (k.Use != "" && k.Use != "sig") || !k.IsPublic() {
			continue
		}
		keys[k.KeyID] = k
	}
	return keys, nil
}
