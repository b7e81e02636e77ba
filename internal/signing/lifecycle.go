package signing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Key statuses reported by [Keys.List].
const (
	StatusActive  = "active"  // signs (or may sign) tokens now
	StatusNext    = "next"    // published, signs from ActivatesAt
	StatusRetired = "retired" // no longer signs; published until ExpiresAt
	StatusExpired = "expired" // no longer published
	StatusRevoked = "revoked" // not published; its tokens are refused
)

// Key uses reported by [Keys.List].
const (
	UseAccessToken = "access_token"
	UseIDToken     = "id_token"
)

// KeyInfo describes a signing key without its private half.
type KeyInfo struct {
	ID          string     `json:"kid"`
	Algorithm   string     `json:"alg"`
	Status      string     `json:"status"`
	Use         []string   `json:"use"` // what it signs: UseAccessToken, UseIDToken; empty for an algorithm no longer in use
	CreatedAt   time.Time  `json:"created_at,omitzero"`
	ActivatesAt time.Time  `json:"activates_at,omitzero"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Ensure makes sure that every algorithm in use has a key that signs, and
// creates one (active at once) where none does; then it loads the keys. It
// also retires the current keys of algorithms no longer configured, so they
// leave the JWKS once their tokens have expired. created reports whether a
// key was made. Call it once at server start; replicas that start together
// may both create a key, and the later one in key order wins.
//
// It fails before writing anything when a stored key cannot be decrypted
// (wrong master secret).
func (k *Keys) Ensure(ctx context.Context) (created bool, err error) {
	recs, err := k.reload(ctx)
	if err != nil {
		return false, fmt.Errorf("ensure signing key: %w", err)
	}
	now := k.now()
	changed := false
	for _, alg := range k.keyAlgs() {
		c, ch, err := k.ensureAlg(ctx, recs, alg, now)
		if err != nil {
			return created, fmt.Errorf("ensure signing key: %w", err)
		}
		created = created || c
		changed = changed || ch
	}
	for _, r := range recs {
		if k.uses(jose.SignatureAlgorithm(r.Algorithm)) || r.RetiredAt != nil || r.RevokedAt != nil {
			continue
		}
		k.log.Info("retiring signing key of an algorithm no longer in use", "kid", r.ID, "alg", r.Algorithm)
		if err := k.retire(ctx, r.ID, now, false); err != nil {
			return created, fmt.Errorf("ensure signing key: %w", err)
		}
		changed = true
	}
	if changed {
		if err := k.Reload(ctx); err != nil {
			return created, fmt.Errorf("ensure signing key: %w", err)
		}
	}
	return created, nil
}

// ensureAlg gives alg a key that signs at now, if it has none: a pending
// key (one whose predecessor was revoked) is activated at once, otherwise
// a new key is created. changed reports any write.
func (k *Keys) ensureAlg(ctx context.Context, recs []store.SigningKey, alg jose.SignatureAlgorithm, now time.Time) (created, changed bool, err error) {
	if hasSigner(recs, alg, now) {
		return false, false, nil
	}
	if cur := currentKeys(recs, alg); len(cur) > 0 {
		pending := cur[0]
		_, err := k.store.UpdateSigningKey(ctx, pending.ID, func(r store.SigningKey) (store.SigningKey, error) {
			if r.RetiredAt == nil && r.RevokedAt == nil && r.ActivatesAt.After(now) {
				r.ActivatesAt = store.Normalize(now)
			}
			return r, nil
		})
		if err != nil {
			return false, false, fmt.Errorf("activate %s key %s: %w", alg, pending.ID, err)
		}
		k.log.Info("signing key activated early", "kid", pending.ID, "alg", alg)
		return false, true, nil
	}
	if _, err := k.create(ctx, alg, now, now); err != nil {
		return false, false, err
	}
	// Another process may have done the same: keep one current key.
	all, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return true, true, fmt.Errorf("list signing keys: %w", err)
	}
	cur := currentKeys(all, alg)
	for _, loser := range cur[min(1, len(cur)):] {
		k.log.Warn("concurrent key creation: retiring the losing key", "kid", loser.ID, "alg", alg, "winner", cur[0].ID)
		if err := k.retire(ctx, loser.ID, now, false); err != nil {
			return true, true, err
		}
	}
	return true, true, nil
}

// Rotate creates a new key for every algorithm in use; each new key is
// published at once and signs [Config.PublishDelay] later, when the key it
// replaces retires (staying published for [Config.MaxTokenTTL] plus a
// minute). It returns the new access-token key (in HS256 mode, the new
// ID-token key).
//
// When two processes rotate at once, exactly one wins: the other gets an
// error wrapping [store.ErrConflict] and its new key is retired unused.
func (k *Keys) Rotate(ctx context.Context) (store.SigningKey, error) {
	recs, err := k.reload(ctx)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
	}
	now := k.now()
	var first store.SigningKey
	for i, alg := range k.keyAlgs() {
		cur := currentKeys(recs, alg)
		activates := now.Add(k.PublishDelay())
		if len(cur) == 0 {
			activates = now // nothing signs meanwhile
		}
		nk, err := k.create(ctx, alg, now, activates)
		if err != nil {
			return store.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
		}
		for j, old := range cur {
			err := k.retire(ctx, old.ID, activates, j == 0)
			if errors.Is(err, store.ErrConflict) {
				// Another rotation retired it first: step aside.
				if rerr := k.retire(ctx, nk.ID, now, false); rerr != nil {
					k.log.Error("retire key of a lost rotation", "kid", nk.ID, "err", rerr)
				}
				if rerr := k.Reload(ctx); rerr != nil {
					k.log.Error("reload signing keys", "err", rerr)
				}
				return store.SigningKey{}, fmt.Errorf("rotate signing key: %s key %s was rotated by another process: %w", alg, old.ID, err)
			}
			if err != nil {
				return store.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
			}
		}
		k.log.Info("signing key rotated", "kid", nk.ID, "alg", alg, "activates_at", nk.ActivatesAt)
		if i == 0 {
			first = nk
		}
	}
	if err := k.Reload(ctx); err != nil {
		return first, fmt.Errorf("rotate signing key: %w", err)
	}
	return first, nil
}

// Revoke marks the key kid revoked: it leaves the JWKS and
// [Keys.VerificationKey] refuses it at once in this process, and in others
// after their next [Keys.Reload]. When it was the current key of an
// algorithm in use, a replacement signs at once. Revoking a revoked key
// does nothing; an unknown kid gives an error wrapping
// [store.ErrNotFound]. The HS256 secret cannot be revoked (change it
// instead).
func (k *Keys) Revoke(ctx context.Context, kid string) error {
	if k.hmac != nil && kid == k.hmac.id {
		return errors.New("revoke signing key: the HS256 key is the shared secret; change GATEHOUSE_JWT_SECRET instead")
	}
	now := store.Normalize(k.now())
	rec, err := k.store.UpdateSigningKey(ctx, kid, func(r store.SigningKey) (store.SigningKey, error) {
		if r.RevokedAt != nil {
			return r, nil
		}
		r.RevokedAt = &now
		if r.RetiredAt == nil || r.RetiredAt.After(now) {
			r.RetiredAt = &now
		}
		if r.ExpiresAt == nil || r.ExpiresAt.After(now) {
			r.ExpiresAt = &now
		}
		return r, nil
	})
	if err != nil {
		return fmt.Errorf("revoke signing key %s: %w", kid, err)
	}
	k.log.Warn("signing key revoked", "kid", kid, "alg", rec.Algorithm)
	if alg := jose.SignatureAlgorithm(rec.Algorithm); k.uses(alg) && alg != jose.HS256 {
		recs, err := k.store.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("revoke signing key %s: %w", kid, err)
		}
		if _, _, err := k.ensureAlg(ctx, recs, alg, k.now()); err != nil {
			return fmt.Errorf("revoke signing key %s: replace it: %w", kid, err)
		}
	}
	if err := k.Reload(ctx); err != nil {
		return fmt.Errorf("revoke signing key %s: %w", kid, err)
	}
	return nil
}

// List returns every key in the store, newest first, with its status now;
// in HS256 mode the shared-secret key comes first.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	recs, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	now := k.now()
	out := make([]KeyInfo, 0, len(recs)+1)
	if k.hmac != nil {
		out = append(out, KeyInfo{ID: k.hmac.id, Algorithm: HS256, Status: StatusActive, Use: []string{UseAccessToken}})
	}
	for _, r := range recs {
		out = append(out, KeyInfo{
			ID: r.ID, Algorithm: r.Algorithm, Status: status(r, now), Use: k.use(jose.SignatureAlgorithm(r.Algorithm)),
			CreatedAt: r.CreatedAt, ActivatesAt: r.ActivatesAt,
			RetiredAt: r.RetiredAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt,
		})
	}
	return out, nil
}

func (k *Keys) use(alg jose.SignatureAlgorithm) []string {
	u := []string{}
	if alg == k.alg {
		u = append(u, UseAccessToken)
	}
	if alg == k.idAlg {
		u = append(u, UseIDToken)
	}
	return u
}

func status(r store.SigningKey, now time.Time) string {
	switch {
	case r.RevokedAt != nil:
		return StatusRevoked
	case r.ExpiresAt != nil && !now.Before(*r.ExpiresAt):
		return StatusExpired
	case r.RetiredAt != nil && !now.Before(*r.RetiredAt):
		return StatusRetired
	case r.ActivatesAt.After(now):
		return StatusNext
	default:
		return StatusActive
	}
}

// create generates, encrypts and stores a new key of alg.
func (k *Keys) create(ctx context.Context, alg jose.SignatureAlgorithm, now, activates time.Time) (store.SigningKey, error) {
	kid := store.NewID()
	priv, err := generate(alg)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pub, err := publicJWK(kid, alg, priv.Public()).MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode public key: %w", err)
	}
	plain, err := marshalPrivate(kid, alg, priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	defer clear(plain)
	rec := store.SigningKey{
		ID:          kid,
		Algorithm:   string(alg),
		PrivateKey:  seal(k.aead, kid, plain),
		PublicKey:   pub,
		CreatedAt:   store.Normalize(now),
		ActivatesAt: store.Normalize(activates),
	}
	if err := k.store.CreateSigningKey(ctx, rec); err != nil {
		return store.SigningKey{}, fmt.Errorf("store %s key: %w", alg, err)
	}
	k.log.Info("signing key created", "kid", kid, "alg", alg, "activates_at", rec.ActivatesAt)
	return rec, nil
}

// retire makes key id stop signing at the given time and leave the JWKS
// once the tokens it signed have expired. With strict, a key that is
// already retired or revoked gives store.ErrConflict (it lost a race);
// otherwise it is left as it is.
func (k *Keys) retire(ctx context.Context, id string, at time.Time, strict bool) error {
	at = store.Normalize(at)
	exp := store.Normalize(at.Add(k.maxTTL + expiryLeeway))
	_, err := k.store.UpdateSigningKey(ctx, id, func(r store.SigningKey) (store.SigningKey, error) {
		if r.RetiredAt != nil || r.RevokedAt != nil {
			if strict {
				return r, store.ErrConflict
			}
			return r, nil
		}
		r.RetiredAt = &at
		r.ExpiresAt = &exp
		return r, nil
	})
	if err != nil {
		return fmt.Errorf("retire signing key %s: %w", id, err)
	}
	return nil
}

// currentKeys returns the keys of alg that are neither retired nor revoked,
// the one that should stay first. There is at most one unless two
// processes created keys at the same time.
func currentKeys(recs []store.SigningKey, alg jose.SignatureAlgorithm) []store.SigningKey {
	var out []store.SigningKey
	for _, r := range recs {
		if jose.SignatureAlgorithm(r.Algorithm) == alg && r.RetiredAt == nil && r.RevokedAt == nil {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int {
		switch {
		case laterRecord(a, b):
			return -1
		case laterRecord(b, a):
			return 1
		}
		return 0
	})
	return out
}

// hasSigner reports whether a key of alg signs at now.
func hasSigner(recs []store.SigningKey, alg jose.SignatureAlgorithm, now time.Time) bool {
	for _, r := range recs {
		if jose.SignatureAlgorithm(r.Algorithm) == alg && r.RevokedAt == nil &&
			!r.ActivatesAt.After(now) && (r.RetiredAt == nil || now.Before(*r.RetiredAt)) {
			return true
		}
	}
	return false
}
