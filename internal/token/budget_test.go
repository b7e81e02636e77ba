package token

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// budgets records what the Handler charges: the client's budget (Limit)
// and the address's failures (Failures).
type budgets struct {
	mu                   sync.Mutex
	limited              []string // client ids charged
	checks, spends       int
	refuseLimit, blocked bool
}

func refusal() error {
	e := oauth.Errorf(oauth.TemporarilyUnavailable, "refused by the test")
	e.Status = http.StatusTooManyRequests
	return e
}

func (b *budgets) limit(_ http.ResponseWriter, _ *http.Request, c store.Client) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limited = append(b.limited, c.ID)
	if b.refuseLimit {
		return refusal()
	}
	return nil
}

func (b *budgets) Check(http.ResponseWriter, *http.Request) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.checks++
	if b.blocked {
		return refusal()
	}
	return nil
}

func (b *budgets) Spend(http.ResponseWriter, *http.Request) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spends++
	return nil
}

// take returns and resets the counts.
func (b *budgets) take() (limited []string, checks, spends int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	limited, checks, spends = b.limited, b.checks, b.spends
	b.limited, b.checks, b.spends = nil, 0, 0
	return limited, checks, spends
}

// TestBudgetChargedAfterProof: the client's budget is charged once a
// request proved itself (a confidential client's secret; a public client's
// valid refresh token, code or password), and a request that failed before
// any proof is charged to the caller's address instead.
func TestBudgetChargedAfterProof(t *testing.T) {
	b := &budgets{}
	f := newFixture(t, func(h *Handler) {
		h.Limit = b.limit
		h.Failures = b
	})
	want := func(t *testing.T, what string, limited []string, checks, spends int) {
		t.Helper()
		gl, gc, gs := b.take()
		if len(gl) != len(limited) || (len(gl) == 1 && gl[0] != limited[0]) || gc != checks || gs != spends {
			t.Errorf("%s: client charged %v, address checked %d, failures spent %d; want %v, %d, %d",
				what, gl, gc, gs, limited, checks, spends)
		}
	}
	junk := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"grt_junk"}}

	wantError(t, "public junk refresh", f.token(t, junk, &f.spa, "post"), 400, oauth.InvalidGrant)
	want(t, "public junk refresh", nil, 1, 1)
	wantError(t, "first-party wrong password", f.token(t, with(url.Values{"grant_type": {"password"}, "username": {"alice"}},
		"password", "wrong password!"), nil, ""), 400, oauth.InvalidGrant)
	want(t, "first-party wrong password", nil, 1, 1)
	wantError(t, "public client's unauthorized grant", f.token(t, url.Values{"grant_type": {"client_credentials"}}, &f.spa, "post"),
		400, oauth.UnauthorizedClient)
	want(t, "public client's unauthorized grant", nil, 1, 1)

	wrong := service.CreatedClient{Client: f.conf.Client, Secret: "gcs_wrong"}
	wantError(t, "wrong secret", f.token(t, pw, &wrong, "basic"), 401, oauth.InvalidClient)
	want(t, "wrong secret", nil, 0, 1)
	wantError(t, "unknown client", f.token(t, with(junk, "client_id", "nobody"), nil, ""), 401, oauth.InvalidClient)
	want(t, "unknown client", nil, 0, 1)

	// A confidential client is charged before its grant, failed or not.
	first := f.token(t, pw, &f.conf, "basic")
	wantTokens(t, "confidential password grant", first, true, true)
	want(t, "confidential password grant", []string{f.conf.ID}, 0, 0)
	wantError(t, "confidential junk refresh", f.token(t, junk, &f.conf, "basic"), 400, oauth.InvalidGrant)
	want(t, "confidential junk refresh", []string{f.conf.ID}, 0, 0)

	// A public client is charged once its grant accepted the proof.
	rt := f.token(t, pw, nil, "").str("refresh_token")
	want(t, "first-party password grant", []string{FirstPartyClientID}, 1, 0)
	r := f.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, nil, "")
	wantTokens(t, "first-party refresh", r, true, true)
	want(t, "first-party refresh", []string{FirstPartyClientID}, 1, 0)
	rt = r.str("refresh_token")
	// A proven request that fails later spends no failure.
	wantError(t, "proven refresh widening its scope", f.token(t, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "scope": {"admin"}}, nil, ""), 400, oauth.InvalidScope)
	want(t, "proven refresh widening its scope", []string{FirstPartyClientID}, 1, 0)

	// The client's budget refuses after the proof and before any change:
	// the refresh token is still good afterwards.
	b.refuseLimit = true
	wantError(t, "refresh over the client's budget", f.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, nil, ""),
		429, oauth.TemporarilyUnavailable)
	want(t, "refresh over the client's budget", []string{FirstPartyClientID}, 1, 0)
	b.refuseLimit = false
	wantTokens(t, "refresh after the refusal", f.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, nil, ""), true, true)
	b.take()

	// An address that spent its failures is refused before the grant runs.
	b.blocked = true
	wantError(t, "public request from a blocked address", f.token(t, pw, nil, ""), 429, oauth.TemporarilyUnavailable)
	want(t, "public request from a blocked address", nil, 1, 0)
	wantTokens(t, "confidential request from a blocked address", f.token(t, pw, &f.conf, "basic"), true, true)
	want(t, "confidential request from a blocked address", []string{f.conf.ID}, 0, 0)
}
