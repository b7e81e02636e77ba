package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

const consentCols = `user_id, client_id, scopes, created_at`

func scanConsent(r scanner) (store.Consent, error) {
	var (
		c      store.Consent
		scopes string
	)
	err := r.Scan(&c.UserID, &c.ClientID, &scopes, timeCol{&c.CreatedAt})
	c.Scopes = splitScopes(scopes)
	return c, err
}

// PutConsent creates or replaces the consent for (UserID, ClientID). An
// unknown user or client gives [store.ErrNotFound].
func (db *DB) PutConsent(ctx context.Context, c store.Consent) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO consents (`+consentCols+`) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`),
			c.UserID, c.ClientID, store.JoinScopes(c.Scopes), db.d.tm(c.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put consent: %w", db.d.mapErr(err))
	}
	return nil
}

// GetConsent returns the consent or [store.ErrNotFound].
func (db *DB) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(db.read.QueryRowContext(ctx,
		db.d.q(`SELECT `+consentCols+` FROM consents WHERE user_id = ? AND client_id = ?`), userID, clientID))
	if err != nil {
		return store.Consent{}, fmt.Errorf("get consent: %w", notFound(err))
	}
	return c, nil
}

// DeleteConsents deletes the consents matching the user and/or client
// (both filters apply when both are set; at least one must be). Deleting
// nothing is not an error.
func (db *DB) DeleteConsents(ctx context.Context, userID, clientID string) error {
	var (
		query string
		args  []any
	)
	switch {
	case userID != "" && clientID != "":
		query, args = `DELETE FROM consents WHERE user_id = ? AND client_id = ?`, []any{userID, clientID}
	case userID != "":
		query, args = `DELETE FROM consents WHERE user_id = ?`, []any{userID}
	case clientID != "":
		query, args = `DELETE FROM consents WHERE client_id = ?`, []any{clientID}
	default:
		return errors.New("delete consents: neither user nor client given")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(query), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete consents: %w", err)
	}
	return nil
}
