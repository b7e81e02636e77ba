package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ClientSecretPrefix is the visible prefix of client secrets.
const ClientSecretPrefix = "gcs_"

// NewClient is the input of CreateClient.
type NewClient struct {
	Name         string
	GrantTypes   []string
	RedirectURIs []string
	Public       bool
	Scopes       []string
	RateLimit    string
}

// CreatedClient is a new client with its secret (shown only once; "" for
// public clients).
type CreatedClient struct {
	store.Client
	Secret string
}

var knownGrants = []string{
	string(oauth.GrantPassword), string(oauth.GrantClientCredentials),
	string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken),
}

// CreateClient registers an OAuth2 client. Confidential clients get a
// server-generated secret (256 bits), stored only as a hash.
func (m *Manager) CreateClient(ctx context.Context, a audit.Actor, in NewClient) (CreatedClient, error) {
	c, err := m.validateClient(in)
	if err != nil {
		return CreatedClient{}, err
	}
	now := m.now()
	c.ID, c.CreatedAt, c.UpdatedAt = store.NewID(), now, now
	var value string
	if !c.Public {
		value, _ = secret.Mint(ClientSecretPrefix)
		c.SecretHash = secret.Hash(value)
	}
	if err := m.Store.CreateClient(ctx, c); err != nil {
		return CreatedClient{}, fmt.Errorf("create client: %w", err)
	}
	m.record(ctx, a, audit.ClientCreated, c.ID, resultSuccess, "")
	return CreatedClient{Client: c, Secret: value}, nil
}

func (m *Manager) validateClient(in NewClient) (store.Client, error) {
	if in.Name == "" || len(in.Name) > 100 {
		return store.Client{}, errorf(Invalid, "invalid_name", "client name is required (at most 100 bytes)")
	}
	if !plainLabel(in.Name) {
		return store.Client{}, errorf(Invalid, "invalid_name", "client name must be UTF-8 text without control characters")
	}
	if err := notSecret("invalid_name", "a client name", in.Name); err != nil {
		return store.Client{}, err
	}
	if len(in.GrantTypes) == 0 {
		return store.Client{}, errorf(Invalid, "invalid_grant_type", "at least one grant type is required (%v)", knownGrants)
	}
	var grants []string
	for _, g := range in.GrantTypes {
		if !contains(knownGrants, g) {
			return store.Client{}, errorf(Invalid, "invalid_grant_type", "unknown grant type %q (want one of %v)", g, knownGrants)
		}
		if !contains(grants, g) {
			grants = append(grants, g)
		}
	}
	if in.Public && contains(grants, string(oauth.GrantClientCredentials)) {
		return store.Client{}, errorf(Invalid, "invalid_grant_type", "a public client cannot use client_credentials")
	}
	if contains(grants, string(oauth.GrantAuthorizationCode)) && len(in.RedirectURIs) == 0 {
		return store.Client{}, errorf(Invalid, "invalid_redirect_uri", "authorization_code needs at least one --redirect-uri")
	}
	for _, u := range in.RedirectURIs {
		if err := oauth.ValidRedirectURI(u); err != nil {
			return store.Client{}, errorf(Invalid, "invalid_redirect_uri", "redirect uri %q: %v", u, err)
		}
		if err := notSecret("invalid_redirect_uri", "a redirect uri", u); err != nil {
			return store.Client{}, err
		}
	}
	scopes, err := ParseScopes(in.Scopes)
	if err != nil {
		return store.Client{}, err
	}
	if in.RateLimit != "" {
		if _, err := ratelimit.ParseLimit(in.RateLimit); err != nil {
			return store.Client{}, errorf(Invalid, "invalid_rate_limit", "invalid rate limit %q: %v", in.RateLimit, err)
		}
	}
	return store.Client{
		Name: in.Name, Public: in.Public, GrantTypes: grants, RedirectURIs: in.RedirectURIs,
		Scopes: scopes, RateLimit: in.RateLimit,
	}, nil
}

// GetClient returns one client.
func (m *Manager) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := m.Store.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, notFound(err, "client", id)
	}
	return c, nil
}

// ListClients lists clients after a cursor (a client id).
func (m *Manager) ListClients(ctx context.Context, after string, limit int) ([]store.Client, error) {
	cs, err := m.Store.ListClients(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return cs, nil
}

// DeleteClient removes a client and revokes every token issued to it.
func (m *Manager) DeleteClient(ctx context.Context, a audit.Actor, id string) error {
	c, err := m.GetClient(ctx, id)
	if err != nil {
		return err
	}
	if c.FirstParty {
		return errorf(Invalid, "first_party", "the built-in first-party client cannot be deleted; "+
			"turn the password grant off with --password-grant=false instead")
	}
	now := m.now()
	if _, err := m.Store.RevokeRefreshTokens(ctx, "", id, now); err != nil {
		return fmt.Errorf("revoke client tokens: %w", err)
	}
	if err := m.Store.DeleteClient(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete client: %w", err)
	}
	m.applyHere(changes.Change{Kind: changes.Client, ID: id})
	if m.Revoker != nil {
		if err := m.Revoker.Revoke(ctx, guard.RevokeClient, id, now, now.Add(m.maxTokenTTL())); err != nil {
			return fmt.Errorf("publish client revocation: %w", err)
		}
	}
	m.record(ctx, a, audit.ClientDeleted, id, resultSuccess, "")
	return nil
}

// RotateClientSecret gives a confidential client a new secret; the old one
// stops working at once.
func (m *Manager) RotateClientSecret(ctx context.Context, a audit.Actor, id string) (CreatedClient, error) {
	value, _ := secret.Mint(ClientSecretPrefix)
	now := m.now()
	c, err := m.Store.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		if c.Public {
			return c, errorf(Invalid, "public_client", "public clients have no secret")
		}
		c.SecretHash = secret.Hash(value)
		c.UpdatedAt = now
		return c, nil
	})
	if err != nil {
		return CreatedClient{}, notFound(err, "client", id)
	}
	m.publish(ctx, changes.Change{Kind: changes.Client, ID: id})
	m.record(ctx, a, audit.ClientSecretRotated, id, resultSuccess, "")
	return CreatedClient{Client: c, Secret: value}, nil
}

// SetClientGrant turns one grant type on or off for a client (e.g. the
// password grant of the first-party client).
func (m *Manager) SetClientGrant(ctx context.Context, a audit.Actor, id, grant string, on bool) (store.Client, error) {
	if !contains(knownGrants, grant) {
		return store.Client{}, errorf(Invalid, "invalid_grant_type", "unknown grant type %q", grant)
	}
	now := m.now()
	c, err := m.Store.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		var gs []string
		for _, g := range c.GrantTypes {
			if g != grant {
				gs = append(gs, g)
			}
		}
		if on {
			gs = append(gs, grant)
		}
		c.GrantTypes, c.UpdatedAt = gs, now
		return c, nil
	})
	if err != nil {
		return store.Client{}, notFound(err, "client", id)
	}
	m.publish(ctx, changes.Change{Kind: changes.Client, ID: id})
	m.record(ctx, a, audit.ClientUpdated, id, resultSuccess, fmt.Sprintf("grant %s=%v", grant, on))
	return c, nil
}
