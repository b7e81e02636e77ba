package authn

import (
	"context"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/changes"
)

// Enrich fills in the username of a bearer token's subject
// (guard.Config.Enrich): access tokens carry no personal data, so the
// embedded guard learns the name from the user cache. Client-credentials
// tokens have no user.
func (c *UserCache) Enrich(ctx context.Context, p *guard.Principal) error {
	if p.Username != "" || p.Subject == "" || p.IsClient() {
		return nil
	}
	u, ok, err := c.Get(ctx, p.Subject)
	if err != nil {
		return err
	}
	if ok {
		p.Username = u.Username
	}
	return nil
}

// Changed is the verifier's change-stream handler: a changed key is read
// again, and so is every key of a changed user (disabled, or scopes
// narrowed).
func (v *Verifier) Changed(c changes.Change) {
	switch c.Kind {
	case changes.APIKey:
		v.Forget(c.ID)
	case changes.User:
		v.ForgetUser(c.ID)
	}
}

// Changed is the user cache's change-stream handler.
func (c *UserCache) Changed(ch changes.Change) {
	if ch.Kind == changes.User {
		c.Forget(ch.ID)
	}
}
