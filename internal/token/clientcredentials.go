package token

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// clientCredentialsGrant is RFC 6749 §4.4: a confidential client gets a
// token for itself. The token's subject is the client; no refresh token.
type clientCredentialsGrant struct{ h *Handler }

func (g clientCredentialsGrant) GrantType() oauth.GrantType { return oauth.GrantClientCredentials }
func (g clientCredentialsGrant) RequiresClientAuth() bool   { return true }

func (g clientCredentialsGrant) Handle(ctx context.Context, req *Request) (*Response, error) {
	if req.Client.Public {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "public clients cannot use client_credentials")
	}
	scopes, err := narrow(req.Scopes, req.Client.Scopes)
	if err != nil {
		return nil, err
	}
	return g.h.issue(ctx, grantInfo{Subject: req.Client.ID, Client: req.Client, Scopes: scopes})
}
