// Package clidb opens a gatehouse database for the command-line tools
// (`gatehouse user create`, `apikey list`, `key rotate`, …): the store,
// its master secret, the signing keys, a password hasher and the service
// manager, and nothing of a server — no routes, rate limiters, Redis
// client, Prometheus registry, caches or background work. The tools work
// on the database while servers run on it; the service layer publishes
// every change that servers must hear on the revocation feed, as it does
// for a server.
//
// It imports the store's SQL implementation, like the root package does:
// it is a small composition root of its own.
package clidb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/mastersecret"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// ErrNoDatabase is returned (wrapped, saying where it looked) by [Open]
// without [Config.Create] when there is no gatehouse database.
var ErrNoDatabase = sqlstore.ErrNoDatabase

// Config is what a tool needs to know of the server's configuration. The
// zero value of every field but DatabaseURL means the server's default.
type Config struct {
	// DatabaseURL is "sqlite:PATH" or a "postgres://" URL. Required.
	DatabaseURL string
	// Secret is the 32-byte master secret (GATEHOUSE_SECRET). When nil,
	// SecretFile is read, or else the file beside an SQLite database.
	Secret     []byte
	SecretFile string
	// Create lets Open create a database that does not exist, and the
	// master secret beside a new SQLite one: only for the commands that do
	// their work on an empty database. Without it a missing database (a
	// missing SQLite file, or one on which no migration ever ran) is
	// [ErrNoDatabase], and nothing is left behind.
	Create bool

	// SigningAlg is the server's access-token algorithm (ES256 when
	// empty); JWTSecret its HS256 secret. They decide which keys a
	// rotation makes and which keys are in use.
	SigningAlg string
	JWTSecret  []byte
	// KeyPublishDelay is how long a key that `key rotate` makes is
	// published before it signs.
	KeyPublishDelay time.Duration
	// APIKeyPrefix is the prefix of new API keys ("gk_" when empty).
	APIKeyPrefix string
	// MaxTokenTTL is the longest lifetime of an access token (the server's
	// access-token TTL plus its clock skew): revocation entries and
	// retired signing keys are kept that long.
	MaxTokenTTL time.Duration

	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

// DB is an open gatehouse database with the service layer on it. Close it
// when done.
type DB struct {
	// Manager performs the operations of the CLI, as it does for the
	// REST API.
	Manager *service.Manager
	store   *sqlstore.DB
}

// Open opens the database of cfg, applies pending migrations, finds the
// master secret and builds the service manager. It closes what it opened
// when it fails.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	st, err := sqlstore.OpenWith(ctx, cfg.DatabaseURL, sqlstore.Options{Logger: log, MustExist: !cfg.Create})
	if errors.Is(err, ErrNoDatabase) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := build(ctx, st, cfg, log)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return db, nil
}

func build(ctx context.Context, st *sqlstore.DB, cfg Config, log *slog.Logger) (*DB, error) {
	sec := cfg.Secret
	if sec == nil {
		var err error
		sec, err = mastersecret.Load(mastersecret.Config{
			File: cfg.SecretFile, DatabaseURL: cfg.DatabaseURL, Create: cfg.Create, Logger: log,
		})
		if err != nil {
			return nil, err
		}
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	keys, err := signing.New(signing.Config{
		Store: st, Secret: sec, Algorithm: cfg.SigningAlg, HMACSecret: cfg.JWTSecret,
		MaxTokenTTL: cfg.MaxTokenTTL, PublishDelay: cfg.KeyPublishDelay, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	// No deny list and no caches here: servers hear of every revocation
	// and every change on the revocation feed.
	revoker := &revocation.Revoker{Store: st}
	m := &service.Manager{
		Store:        st,
		Hasher:       password.New(password.Config{Params: password.DefaultParams()}),
		Keys:         keys,
		Audit:        &audit.Recorder{Store: st, Logger: log},
		Revoker:      revoker,
		Changes:      changes.New(revoker, nil),
		Logger:       log,
		APIKeyPrefix: cfg.APIKeyPrefix,
		MaxTokenTTL:  cfg.MaxTokenTTL,
	}
	return &DB{Manager: m, store: st}, nil
}

// Close closes the store.
func (db *DB) Close() error { return db.store.Close() }
