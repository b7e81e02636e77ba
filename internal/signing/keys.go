package signing

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Signing algorithms accepted by [Config.Algorithm] and
// [Config.IDTokenAlgorithm].
const (
	ES256 = "ES256" // ECDSA P-256 with SHA-256 (the default)
	EdDSA = "EdDSA" // Ed25519
	RS256 = "RS256" // RSA PKCS#1 v1.5 with SHA-256, 2048-bit keys
	HS256 = "HS256" // HMAC SHA-256 with a shared secret (access tokens only)
)

// Token types for the JWS "typ" header.
const (
	TypeAccessToken = "at+jwt" // RFC 9068 §2.1
	TypeIDToken     = "JWT"    // OpenID Connect Core §2 recommends none or "JWT"
)

// DefaultMaxTokenTTL is used when [Config.MaxTokenTTL] is zero.
const DefaultMaxTokenTTL = 24 * time.Hour

// expiryLeeway is added to MaxTokenTTL before a retired key leaves the
// JWKS, for clock skew between the signer and the verifiers.
const expiryLeeway = time.Minute

// missReloadInterval bounds how often an unknown kid makes
// [Keys.VerificationKey] re-read the store.
const missReloadInterval = time.Second

// minHMACSecret is the shortest accepted HS256 secret: RFC 7518 §3.2 wants
// a key at least as long as the hash output.
const minHMACSecret = 32

// Errors returned by [Keys.VerificationKey], [Keys.Sign] and friends,
// wrapped with the kid or algorithm; test them with errors.Is.
var (
	ErrUnknownKey = errors.New("unknown signing key")
	ErrKeyRevoked = errors.New("signing key revoked")
	ErrKeyExpired = errors.New("signing key expired")
	ErrNoKey      = errors.New("no signing key")
)

// Config configures [New].
type Config struct {
	// Store holds the keys. Required, also with HS256: ID tokens are
	// always signed with a stored key.
	Store store.SigningKeys
	// Secret is the 32-byte master secret (GATEHOUSE_SECRET) that encrypts
	// private keys at rest with AES-256-GCM. Required.
	Secret []byte
	// Algorithm signs access tokens: ES256 (the default when empty),
	// EdDSA, RS256 or HS256.
	Algorithm string
	// IDTokenAlgorithm signs ID tokens: RS256 (the default when empty),
	// ES256 or EdDSA. Set it to Algorithm to keep a single key.
	IDTokenAlgorithm string
	// HMACSecret is the shared HS256 secret (GATEHOUSE_JWT_SECRET), at
	// least 32 bytes. Required with HS256 and ignored otherwise. It is
	// never stored nor published.
	HMACSecret []byte
	// MaxTokenTTL is the longest lifetime of a token that a key signs
	// (access and ID tokens). A retired key stays published this long
	// plus a minute after it stops signing. Zero means DefaultMaxTokenTTL.
	MaxTokenTTL time.Duration
	// PublishDelay is how long a key made by [Keys.Rotate] is published
	// before it signs, so that verifiers caching the JWKS see it first.
	// Zero means it signs at once (verifiers then rely on refetching the
	// JWKS on an unknown kid).
	PublishDelay time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives key lifecycle events; nil discards them.
	Logger *slog.Logger
}

// Keys is the set of signing keys of one gatehouse process. It is safe for
// concurrent use; the signing and verification paths take no lock and do
// not touch the store.
type Keys struct {
	store        store.SigningKeys
	aead         cipher.AEAD
	alg          jose.SignatureAlgorithm // access tokens
	idAlg        jose.SignatureAlgorithm // ID tokens
	hmac         *key                    // HS256 only
	maxTTL       time.Duration
	publishDelay time.Duration // Config.PublishDelay
	soon         chan struct{} // ReloadSoon wakes Watch
	now          func() time.Time
	log          *slog.Logger

	cur atomic.Pointer[snapshot]

	reloadMu sync.Mutex // serialises Reload so an old read never replaces a newer one

	missMu   sync.Mutex // one reload at a time for unknown kids
	lastMiss time.Time
}

var _ guard.KeySet = (*Keys)(nil)

// New checks cfg and returns a key set holding no stored key yet: call
// [Keys.Ensure] (at server start) or [Keys.Reload] (in a CLI) before
// signing. New does no I/O.
func New(cfg Config) (*Keys, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	aead, err := newAEAD(cfg.Secret)
	if err != nil {
		errs = append(errs, err)
	}
	alg := cfg.Algorithm
	if alg == "" {
		alg = ES256
	}
	switch alg {
	case ES256, EdDSA, RS256:
	case HS256:
		if len(cfg.HMACSecret) < minHMACSecret {
			errs = append(errs, fmt.Errorf("HS256 needs a shared secret of at least %d bytes, got %d", minHMACSecret, len(cfg.HMACSecret)))
		}
	default:
		errs = append(errs, fmt.Errorf("unsupported signing algorithm %q (want ES256, EdDSA, RS256 or HS256)", alg))
	}
	idAlg := cfg.IDTokenAlgorithm
	if idAlg == "" {
		idAlg = RS256
	}
	switch idAlg {
	case ES256, EdDSA, RS256:
	default:
		errs = append(errs, fmt.Errorf("unsupported ID token signing algorithm %q (want RS256, ES256 or EdDSA)", idAlg))
	}
	if cfg.MaxTokenTTL < 0 || cfg.PublishDelay < 0 {
		errs = append(errs, errors.New("MaxTokenTTL and PublishDelay must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}

	k := &Keys{
		store:  cfg.Store,
		aead:   aead,
		alg:    jose.SignatureAlgorithm(alg),
		idAlg:  jose.SignatureAlgorithm(idAlg),
		maxTTL: cfg.MaxTokenTTL,
		now:    cfg.Now,
		log:    cfg.Logger,

		publishDelay: max(cfg.PublishDelay, 0),
		soon:         make(chan struct{}, 1),
	}
	if k.maxTTL == 0 {
		k.maxTTL = DefaultMaxTokenTTL
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	if alg == HS256 {
		h, err := newHMACKey(cfg.HMACSecret)
		if err != nil {
			return nil, fmt.Errorf("signing: %w", err)
		}
		k.hmac = h
	}
	k.cur.Store(k.derive(nil, k.now()))
	return k, nil
}

// key is one loaded signing key. It is immutable once built.
type key struct {
	id     string
	alg    jose.SignatureAlgorithm
	rec    store.SigningKey // without the ciphertext
	ct     []byte           // the ciphertext it was decrypted from
	jwk    jose.JSONWebKey  // the published public JWK
	public any              // the verification key: a crypto public key, or the HMAC secret
	// private signs; nil for a key loaded revoked or expired.
	private any
	// signers holds ready signers for the usual token types.
	signers map[string]jose.Signer
}

// newHMACKey builds the HS256 pseudo-key. Its kid is derived from the
// secret, so every replica sharing the secret agrees on it, and reveals
// nothing about it.
func newHMACKey(secret []byte) (*key, error) {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse signing key id"))
	kid := "hs256-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
	s := append([]byte(nil), secret...)
	h := &key{id: kid, alg: jose.HS256, public: s, private: s,
		rec: store.SigningKey{ID: kid, Algorithm: HS256}}
	if err := h.buildSigners(); err != nil {
		return nil, err
	}
	return h, nil
}

func (k *key) buildSigners() error {
	k.signers = make(map[string]jose.Signer, 2)
	for _, typ := range []string{TypeAccessToken, TypeIDToken} {
		s, err := k.newSigner(typ)
		if err != nil {
			return err
		}
		k.signers[typ] = s
	}
	return nil
}

func (k *key) newSigner(typ string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithHeader("kid", k.id)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.private}, opts)
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", k.id, err)
	}
	return s, nil
}

// sign returns the compact JWS of payload with header typ.
func (k *key) sign(typ string, payload []byte) (string, error) {
	if k.private == nil {
		return "", fmt.Errorf("signing key %s has no private key loaded: %w", k.id, ErrNoKey)
	}
	s, ok := k.signers[typ]
	if !ok {
		var err error
		if s, err = k.newSigner(typ); err != nil {
			return "", err
		}
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", k.id, err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", k.id, err)
	}
	return out, nil
}

func (k *key) revoked() bool { return k.rec.RevokedAt != nil }

func (k *key) expired(now time.Time) bool {
	return k.rec.ExpiresAt != nil && !now.Before(*k.rec.ExpiresAt)
}

func (k *key) published(now time.Time) bool { return !k.revoked() && !k.expired(now) }

// snapshot is an immutable view of the loaded keys at one moment.
type snapshot struct {
	keys  []*key // as listed by the store, newest first
	byKID map[string]*key
	// builtAt and validUntil bound the times for which signing and jwks
	// are right: validUntil is the next activation, retirement or expiry
	// (zero when none is pending).
	builtAt    time.Time
	validUntil time.Time
	signing    map[jose.SignatureAlgorithm]*key
	jwks       jose.JSONWebKeySet
	jwksJSON   []byte
}

// derive computes the time-dependent parts of a snapshot from its keys.
func (k *Keys) derive(keys []*key, now time.Time) *snapshot {
	s := &snapshot{
		keys:    keys,
		byKID:   make(map[string]*key, len(keys)+1),
		builtAt: now,
		signing: make(map[jose.SignatureAlgorithm]*key, 2),
		jwks:    jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}},
	}
	later := func(t *time.Time) {
		if t != nil && t.After(now) && (s.validUntil.IsZero() || t.Before(s.validUntil)) {
			s.validUntil = *t
		}
	}
	for _, kk := range keys {
		s.byKID[kk.id] = kk
		later(&kk.rec.ActivatesAt)
		later(kk.rec.RetiredAt)
		later(kk.rec.ExpiresAt)
		if kk.published(now) {
			s.jwks.Keys = append(s.jwks.Keys, kk.jwk)
		}
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256} {
		if kk := selectSigner(keys, alg, now); kk != nil {
			s.signing[alg] = kk
		}
	}
	if k.hmac != nil {
		s.byKID[k.hmac.id] = k.hmac
		s.signing[jose.HS256] = k.hmac
	}
	b, err := json.Marshal(s.jwks)
	if err != nil {
		// Marshalling public keys that were parsed and checked cannot
		// fail; keep serving an empty set rather than panicking.
		k.log.Error("encode JWKS", "err", err)
		b = []byte(`{"keys":[]}`)
	}
	s.jwksJSON = b
	return s
}

// selectSigner picks the key that signs for alg at now: the one with the
// latest ActivatesAt at or before now that is neither retired nor revoked.
// When there is none (clock skew between replicas, a revoked current key),
// the newest activated key that is still published keeps signing rather
// than failing every request.
func selectSigner(keys []*key, alg jose.SignatureAlgorithm, now time.Time) *key {
	var best, fallback *key
	for _, kk := range keys {
		if kk.alg != alg || kk.private == nil || !kk.published(now) || kk.rec.ActivatesAt.After(now) {
			continue
		}
		if newer(kk.rec, fallback) {
			fallback = kk
		}
		if kk.rec.RetiredAt != nil && !now.Before(*kk.rec.RetiredAt) {
			continue
		}
		if newer(kk.rec, best) {
			best = kk
		}
	}
	if best == nil {
		return fallback
	}
	return best
}

// newer orders keys by ActivatesAt, then by kid, so that every replica
// agrees on which of two keys wins.
func newer(r store.SigningKey, than *key) bool {
	if than == nil {
		return true
	}
	return laterRecord(r, than.rec)
}

func laterRecord(a, b store.SigningKey) bool {
	if !a.ActivatesAt.Equal(b.ActivatesAt) {
		return a.ActivatesAt.After(b.ActivatesAt)
	}
	return a.ID > b.ID
}

// current returns the snapshot for now, re-deriving it (without I/O) when a
// key activated, retired or expired since it was built.
func (k *Keys) current() (*snapshot, time.Time) {
	s := k.cur.Load()
	now := k.now()
	if now.Before(s.builtAt) || (!s.validUntil.IsZero() && !now.Before(s.validUntil)) {
		ns := k.derive(s.keys, now)
		k.cur.CompareAndSwap(s, ns)
		s = ns
	}
	return s, now
}

// Reload re-reads the keys from the store, picking up keys created,
// rotated or revoked by other processes. It fails, keeping the previous
// keys, when the store fails or a key cannot be decrypted (wrong master
// secret).
func (k *Keys) Reload(ctx context.Context) error {
	_, err := k.reload(ctx)
	return err
}

// Watch calls [Keys.Reload] every interval until ctx is done, so this
// process follows rotations and revocations made by other replicas or the
// CLI; failures are logged and retried at the next tick. Run it in its own
// goroutine, with an interval well below [Config.MaxTokenTTL] (a replica
// that has not seen a rotation keeps signing with the retired key, which
// stays published that long). Callers that follow the revocation feed may
// also call Reload when a key event arrives.
func (k *Keys) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-k.soon:
		}
		if err := k.Reload(ctx); err != nil && ctx.Err() == nil {
			k.log.Error("reload signing keys", "err", err)
		}
	}
}

// ReloadSoon asks a running [Keys.Watch] to reload now, not at its next
// tick: the keys changed (rotated or revoked here, on another replica or
// by the CLI). It never blocks; calls during a reload coalesce.
func (k *Keys) ReloadSoon() {
	select {
	case k.soon <- struct{}{}:
	default:
	}
}

// reload is Reload that also returns the records it read.
func (k *Keys) reload(ctx context.Context) ([]store.SigningKey, error) {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	recs, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	now := k.now()
	prev := k.cur.Load()
	keys := make([]*key, 0, len(recs))
	for _, rec := range recs {
		kk, err := k.load(rec, prev, now)
		if err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
		if kk != nil {
			keys = append(keys, kk)
		}
	}
	k.cur.Store(k.derive(keys, now))
	return recs, nil
}

// load turns a record into a key, reusing the parsed material of the
// previous snapshot when the record's key bytes did not change. It returns
// nil for a key of an algorithm this version does not know.
func (k *Keys) load(rec store.SigningKey, prev *snapshot, now time.Time) (*key, error) {
	alg := jose.SignatureAlgorithm(rec.Algorithm)
	switch alg {
	case jose.ES256, jose.EdDSA, jose.RS256:
	default:
		k.log.Warn("ignoring signing key of unknown algorithm", "kid", rec.ID, "alg", rec.Algorithm)
		return nil, nil
	}
	ct := rec.PrivateKey
	rec.PrivateKey = nil
	needPrivate := rec.RevokedAt == nil && (rec.ExpiresAt == nil || now.Before(*rec.ExpiresAt))

	if old := prev.byKID[rec.ID]; old != nil && old.alg == alg && string(old.ct) == string(ct) &&
		(old.private != nil || !needPrivate) {
		kk := *old
		kk.rec = rec
		return &kk, nil
	}

	jwk, err := parsePublic(rec.ID, alg, rec.PublicKey)
	if err != nil {
		return nil, err
	}
	kk := &key{id: rec.ID, alg: alg, rec: rec, ct: ct, jwk: jwk, public: jwk.Key}
	if needPrivate {
		priv, err := parsePrivate(k.aead, rec.ID, alg, ct, jwk.Key)
		if err != nil {
			return nil, err
		}
		kk.private = priv
		if err := kk.buildSigners(); err != nil {
			return nil, err
		}
	}
	return kk, nil
}

// VerificationKey implements [guard.KeySet]: it returns the public key (or
// the HS256 secret) of kid and the one algorithm pinned to it. A revoked or
// expired key gives an error wrapping [ErrKeyRevoked] or [ErrKeyExpired]; an
// unknown kid makes it re-read the store (at most once a second, so keys
// rotated by another process are found) before failing with
// [ErrUnknownKey].
//
// Every published key verifies, including the ID-token key: callers must
// check the "typ" header (RFC 8725 §3.11), as the guard does.
func (k *Keys) VerificationKey(ctx context.Context, kid string) (any, jose.SignatureAlgorithm, error) {
	s, now := k.current()
	kk := s.byKID[kid]
	if kk == nil {
		var err error
		if kk, err = k.reloadForMiss(ctx, kid); err != nil {
			return nil, "", err
		}
		now = k.now()
	}
	if kk == nil {
		return nil, "", fmt.Errorf("verification key %q: %w", kid, ErrUnknownKey)
	}
	if kk.revoked() {
		return nil, "", fmt.Errorf("verification key %q: %w", kid, ErrKeyRevoked)
	}
	if kk.expired(now) {
		return nil, "", fmt.Errorf("verification key %q: %w", kid, ErrKeyExpired)
	}
	return kk.public, kk.alg, nil
}

// reloadForMiss re-reads the store for an unknown kid unless that was done
// less than a second ago, and looks kid up again.
func (k *Keys) reloadForMiss(ctx context.Context, kid string) (*key, error) {
	k.missMu.Lock()
	defer k.missMu.Unlock()
	// Another caller may have reloaded while this one waited.
	if kk := k.cur.Load().byKID[kid]; kk != nil {
		return kk, nil
	}
	now := k.now()
	if d := now.Sub(k.lastMiss); !k.lastMiss.IsZero() && d >= 0 && d < missReloadInterval {
		return nil, nil
	}
	k.lastMiss = now
	if err := k.Reload(ctx); err != nil {
		return nil, fmt.Errorf("verification key %q: %w", kid, err)
	}
	return k.cur.Load().byKID[kid], nil
}

// JWKS returns the published public keys (RFC 7517): every key that is
// neither expired nor revoked, including keys not yet signing and retired
// keys whose tokens may still be valid. The HS256 secret is never in it.
func (k *Keys) JWKS() jose.JSONWebKeySet {
	s, _ := k.current()
	return jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), s.jwks.Keys...)}
}

// JWKSJSON returns the JSON encoding of [Keys.JWKS], cached until the set
// changes. The caller must not modify it.
func (k *Keys) JWKSJSON() []byte {
	s, _ := k.current()
	return s.jwksJSON
}

// Algorithm returns the algorithm that signs access tokens.
func (k *Keys) Algorithm() string { return string(k.alg) }

// IDTokenAlgorithm returns the algorithm that signs ID tokens, for
// id_token_signing_alg_values_supported in the discovery document.
func (k *Keys) IDTokenAlgorithm() string { return string(k.idAlg) }

// Algorithms returns the algorithms in use, access-token algorithm first.
func (k *Keys) Algorithms() []string {
	if k.alg == k.idAlg {
		return []string{string(k.alg)}
	}
	return []string{string(k.alg), string(k.idAlg)}
}

// keyAlgs returns the algorithms that need a stored key.
func (k *Keys) keyAlgs() []jose.SignatureAlgorithm {
	if k.alg == jose.HS256 || k.alg == k.idAlg {
		return []jose.SignatureAlgorithm{k.idAlg}
	}
	return []jose.SignatureAlgorithm{k.alg, k.idAlg}
}

func (k *Keys) uses(alg jose.SignatureAlgorithm) bool {
	return alg == k.alg || alg == k.idAlg
}

// ActiveKeyID returns the kid that signs access tokens now, or "" when no
// key is loaded.
func (k *Keys) ActiveKeyID() string {
	s, _ := k.current()
	if kk := s.signing[k.alg]; kk != nil {
		return kk.id
	}
	return ""
}

// Sign returns claims as a compact JWS signed with the current
// access-token key, with the header fields alg, kid and typ (omitted when
// typ is ""). claims is encoded with encoding/json.
func (k *Keys) Sign(claims any, typ string) (string, error) {
	return k.SignWith(string(k.alg), claims, typ)
}

// SignWith is [Keys.Sign] with the current key of another algorithm in use,
// e.g. [Keys.IDTokenAlgorithm].
func (k *Keys) SignWith(alg string, claims any, typ string) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign: encode claims: %w", err)
	}
	return k.signPayload(alg, payload, typ)
}

// signPayload signs already encoded claims with the current key of alg.
func (k *Keys) signPayload(alg string, payload []byte, typ string) (string, error) {
	s, _ := k.current()
	kk := s.signing[jose.SignatureAlgorithm(alg)]
	if kk == nil || !k.uses(jose.SignatureAlgorithm(alg)) {
		return "", fmt.Errorf("sign: %w for %s (run Ensure)", ErrNoKey, alg)
	}
	return kk.sign(typ, payload)
}
