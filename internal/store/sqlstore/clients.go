package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

const clientCols = `id, secret_hash, name, public, first_party, grant_types, redirect_uris, scopes, rate_limit, created_at, updated_at`

func scanClient(r scanner) (store.Client, error) {
	var (
		c                         store.Client
		grants, redirects, scopes string
	)
	err := r.Scan(&c.ID, &c.SecretHash, &c.Name, &c.Public, &c.FirstParty, &grants, &redirects, &scopes, &c.RateLimit,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	if err != nil {
		return c, err
	}
	c.GrantTypes = splitScopes(grants)
	c.Scopes = splitScopes(scopes)
	c.RedirectURIs, err = decodeList(redirects)
	return c, err
}

// encodeList stores a list that may contain spaces as a JSON array.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// decodeList reads encodeList's output; an empty array gives nil.
func decodeList(s string) ([]string, error) {
	var l []string
	if s == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list column: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

func (db *DB) clientArgs(c store.Client) []any {
	return []any{blob(c.SecretHash), c.Name, c.Public, c.FirstParty, store.JoinScopes(c.GrantTypes),
		encodeList(c.RedirectURIs), store.JoinScopes(c.Scopes), c.RateLimit}
}

// CreateClient inserts c. A taken ID gives [store.ErrConflict].
func (db *DB) CreateClient(ctx context.Context, c store.Client) error {
	if c.ID == "" {
		return errors.New("create client: empty id")
	}
	args := append([]any{c.ID}, db.clientArgs(c)...)
	args = append(args, db.d.tm(c.CreatedAt), db.d.tm(c.UpdatedAt))
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("create client: %w", db.d.mapErr(err))
	}
	return nil
}

// GetClient returns the client or [store.ErrNotFound].
func (db *DB) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(db.read.QueryRowContext(ctx, db.d.q(`SELECT `+clientCols+` FROM clients WHERE id = ?`), id))
	if err != nil {
		return store.Client{}, fmt.Errorf("get client: %w", notFound(err))
	}
	return c, nil
}

// ListClients returns clients ordered by ID (byte order) after the cursor,
// at most limit of them (0 = all).
func (db *DB) ListClients(ctx context.Context, after string, limitN int) ([]store.Client, error) {
	cs, err := queryAll(ctx, db, db.read, `SELECT `+clientCols+` FROM clients WHERE id > ? ORDER BY id LIMIT ?`,
		scanClient, after, limit(limitN))
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return cs, nil
}

// UpdateClient applies fn to the stored client in one transaction. ID and
// CreatedAt keep their old values. An error from fn is returned unchanged.
func (db *DB) UpdateClient(ctx context.Context, id string, fn func(store.Client) (store.Client, error)) (store.Client, error) {
	c, err := update(ctx, db, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id, scanClient, fn,
		func(tx *sql.Tx, old, c store.Client) error {
			args := append(db.clientArgs(c), db.d.tm(c.UpdatedAt), old.ID)
			_, err := tx.ExecContext(ctx, db.d.q(`UPDATE clients SET secret_hash = ?, name = ?, public = ?, first_party = ?,
				grant_types = ?, redirect_uris = ?, scopes = ?, rate_limit = ?, updated_at = ? WHERE id = ?`), args...)
			return err
		})
	if err != nil {
		return store.Client{}, wrapUpdate("update client", err)
	}
	return c, nil
}

// DeleteClient deletes the client and its consents, or returns
// [store.ErrNotFound]. Its auth codes and refresh tokens stay until they
// expire; grants refuse them because the client is gone.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(`DELETE FROM clients WHERE id = ?`), id))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete client: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("delete client: %w", store.ErrNotFound)
	}
	return nil
}
