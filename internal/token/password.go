package token

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// passwordGrant is the resource-owner password grant (RFC 6749 §4.3), for
// trusted first-party login forms only.
type passwordGrant struct{ h *Handler }

func (g passwordGrant) GrantType() oauth.GrantType { return oauth.GrantPassword }
func (g passwordGrant) RequiresClientAuth() bool   { return true }

func (g passwordGrant) Handle(ctx context.Context, req *Request) (*Response, error) {
	username, oerr := oauth.Required(req.Form, "username")
	if oerr != nil {
		return nil, oerr
	}
	pw, oerr := oauth.Required(req.Form, "password")
	if oerr != nil {
		return nil, oerr
	}
	u, err := g.h.Manager.Login(ctx, req.Actor, g.h.Throttle, username, pw)
	if err != nil {
		return nil, loginError(err)
	}
	if err := req.prove(); err != nil {
		return nil, err
	}
	scopes, oerr := oauth.NarrowForUser(req.Scopes, u.Scopes, req.Client.Scopes)
	if oerr != nil {
		return nil, oerr
	}
	now := g.h.now()
	return g.h.issue(ctx, grantInfo{
		Subject: u.ID, UserID: u.ID, Client: req.Client, Scopes: scopes, AuthTime: now,
		FamilyID: store.NewID(), Refresh: contains(req.Client.GrantTypes, string(oauth.GrantRefreshToken)),
	})
}

// loginError maps service.Login errors to RFC 6749 §5.2 errors.
func loginError(err error) error {
	var te *service.ThrottledError
	switch {
	case errors.Is(err, service.ErrBadCredentials):
		return oauth.Errorf(oauth.InvalidGrant, "invalid username or password")
	case errors.As(err, &te):
		e := oauth.Errorf(oauth.InvalidGrant, "too many failed logins; try again later")
		e.Status = 429
		e.RetryAfter = te.RetryAfter
		return e
	case errors.Is(err, service.ErrBusy):
		e := oauth.Errorf(oauth.TemporarilyUnavailable, "too many logins in progress; try again shortly")
		e.RetryAfter = service.BusyRetryAfter(err)
		return e
	}
	return err
}
