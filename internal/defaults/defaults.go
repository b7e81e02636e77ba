// Package defaults holds the default of every gatehouse setting, written
// once: the root package's Config applies them, the CLI's setting table
// shows them in --help (and so in the documentation, which a test compares
// with that table), and the commands that work on a database use them.
//
// It imports the standard library only, so that everything may read it.
package defaults

import "time"

// Server.
const (
	Addr        = "127.0.0.1:8080"
	DatabaseURL = "sqlite:./gatehouse.db"
	// MaxBody is the request body limit in bytes.
	MaxBody int64 = 1 << 20
)

// Tokens and sessions.
const (
	AccessTokenTTL    = 15 * time.Minute
	RefreshTokenTTL   = 720 * time.Hour
	RefreshReuseGrace = 5 * time.Second
	ClockSkew         = 5 * time.Second
	AuthCodeTTL       = time.Minute
	LoginSessionTTL   = 12 * time.Hour
	PasswordGrant     = true
	APIKeyPrefix      = "gk_"
)

// Signing keys.
const (
	SigningAlg      = "ES256"
	KeyPublishDelay = 5 * time.Second
)

// Rate limits (COUNT/UNIT[:BURST]) and login throttling.
const (
	RateLimitIP      = "100/s:1000"
	RateLimitUser    = "50/s:500"
	RateLimitAPIKey  = "50/s:500"
	RateLimitClient  = "50/s:500"
	RateLimitToken   = "10/s:100"
	LoginIPLimit     = "100/m"
	LoginMaxFailures = 10
	LoginLockout     = 15 * time.Minute
)

// Process.
const (
	PasswordWorker = true
	LogLevel       = "info"
	LogFormat      = "text"
)

// MetricsAllow returns the networks that may scrape /metrics by default:
// loopback, RFC 1918 private IPv4, and IPv6 unique local addresses (RFC
// 4193). Each call returns a new slice.
func MetricsAllow() []string {
	return []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}
}
