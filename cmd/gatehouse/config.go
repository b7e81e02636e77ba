package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// env is the process around the CLI (swapped in tests).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// setting binds one Config field to one flag and one GATEHOUSE_* variable.
type setting struct {
	flag, usage, def string
	apply            func(c *gatehouse.Config, v string) error
}

func durationSetting(flag, def, usage string, field func(*gatehouse.Config) *time.Duration) setting {
	return setting{flag: flag, def: def, usage: usage, apply: func(c *gatehouse.Config, v string) error {
		d, err := manage.ParseDuration(v)
		if err != nil {
			return err
		}
		*field(c) = d
		return nil
	}}
}

// settings is the single table of server settings (SPEC §1).
var settings = []setting{
	{flag: "addr", def: gatehouse.DefaultAddr, usage: "listen address",
		apply: func(c *gatehouse.Config, v string) error { c.Addr = v; return nil }},
	{flag: "database-url", def: gatehouse.DefaultDatabaseURL, usage: "sqlite:PATH or postgres://...",
		apply: func(c *gatehouse.Config, v string) error { c.DatabaseURL = v; return nil }},
	{flag: "issuer", usage: "iss of every token: the URL clients use (default http://<addr>; set it when --addr is 0.0.0.0)",
		apply: func(c *gatehouse.Config, v string) error { c.Issuer = v; return nil }},
	{flag: "audience", usage: "aud of access tokens (default: the issuer)",
		apply: func(c *gatehouse.Config, v string) error { c.Audience = v; return nil }},
	durationSetting("access-token-ttl", "15m", "access-token lifetime", func(c *gatehouse.Config) *time.Duration { return &c.AccessTokenTTL }),
	durationSetting("refresh-token-ttl", "720h", "absolute refresh-token lifetime", func(c *gatehouse.Config) *time.Duration { return &c.RefreshTokenTTL }),
	durationSetting("refresh-idle-ttl", "", "refresh token expires after this long unused (default: never)", func(c *gatehouse.Config) *time.Duration { return &c.RefreshIdleTTL }),
	{flag: "refresh-reuse-grace", def: "5s", usage: "window in which a used refresh token gets the same successor; 0s turns it off",
		apply: func(c *gatehouse.Config, v string) error {
			d, err := manage.ParseDuration(v)
			if err != nil {
				return err
			}
			if d == 0 {
				d = -1
			}
			c.RefreshReuseGrace = d
			return nil
		}},
	durationSetting("login-session-ttl", "12h", "how long a browser stays signed in at the authorization endpoint", func(c *gatehouse.Config) *time.Duration { return &c.LoginSessionTTL }),
	durationSetting("clock-skew", "5s", "leeway for exp/nbf/iat checks", func(c *gatehouse.Config) *time.Duration { return &c.ClockSkew }),
	durationSetting("key-rotation", "", "rotate the signing key this often (default: only by 'key rotate')", func(c *gatehouse.Config) *time.Duration { return &c.KeyRotation }),
	durationSetting("key-publish-delay", "5s", "how long a new signing key is published before it signs", func(c *gatehouse.Config) *time.Duration { return &c.KeyPublishDelay }),
	{flag: "signing-alg", def: "ES256", usage: "ES256, EdDSA, RS256 or HS256 (secret in GATEHOUSE_JWT_SECRET)",
		apply: func(c *gatehouse.Config, v string) error { c.SigningAlg = v; return nil }},
	{flag: "password-grant", def: "true", usage: "enable the password grant server-wide",
		apply: func(c *gatehouse.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			c.DisablePasswordGrant = !b
			return nil
		}},
	{flag: "api-key-prefix", def: "gk_", usage: "prefix of new API keys",
		apply: func(c *gatehouse.Config, v string) error { c.APIKeyPrefix = v; return nil }},
	{flag: "redis-url", usage: "redis://... to share rate limits across replicas",
		apply: func(c *gatehouse.Config, v string) error { c.RedisURL = v; return nil }},
	{flag: "rate-limit-ip", def: gatehouse.DefaultRateLimitIP, usage: "requests per client address, e.g. 100/s:1000 or unlimited",
		apply: func(c *gatehouse.Config, v string) error { c.RateLimitIP = v; return nil }},
	{flag: "rate-limit-user", def: gatehouse.DefaultRateLimitUser, usage: "authenticated requests per user",
		apply: func(c *gatehouse.Config, v string) error { c.RateLimitUser = v; return nil }},
	{flag: "rate-limit-apikey", def: gatehouse.DefaultRateLimitAPIKey, usage: "requests per API key without its own limit",
		apply: func(c *gatehouse.Config, v string) error { c.RateLimitAPIKey = v; return nil }},
	{flag: "rate-limit-client", def: gatehouse.DefaultRateLimitClient, usage: "token requests per OAuth2 client without its own limit",
		apply: func(c *gatehouse.Config, v string) error { c.RateLimitClient = v; return nil }},
	{flag: "rate-limit-token", def: gatehouse.DefaultRateLimitToken, usage: "password attempts (token endpoint, login form), and apart failed token requests, per client address",
		apply: func(c *gatehouse.Config, v string) error { c.RateLimitToken = v; return nil }},
	{flag: "login-max-failures", def: "10", usage: "failed logins in a row from one address at one account that lock that address out of the account (the account is only slowed down)",
		apply: func(c *gatehouse.Config, v string) error { return positiveInt(v, &c.LoginMaxFailures) }},
	durationSetting("login-lockout", "15m", "how long an address stays locked out of an account after its last failure, and how long an account's failures are remembered", func(c *gatehouse.Config) *time.Duration { return &c.LoginLockout }),
	{flag: "login-ip-limit", def: gatehouse.DefaultLoginIPLimit, usage: "failed logins per client address (IPv6 per /64), whatever the account",
		apply: func(c *gatehouse.Config, v string) error { c.LoginIPLimit = v; return nil }},
	durationSetting("audit-retention", "", "delete audit events older than this, e.g. 365d (default: keep forever)", func(c *gatehouse.Config) *time.Duration { return &c.AuditRetention }),
	{flag: "password-hash-concurrency", usage: "password hashes run at once (default: half the CPUs)",
		apply: func(c *gatehouse.Config, v string) error { return positiveInt(v, &c.PasswordHashConcurrency) }},
	{flag: "password-worker", def: "true", usage: "hash passwords in a child process, so a login flood does not slow other requests",
		apply: func(c *gatehouse.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			c.PasswordWorker = ""
			if b {
				c.PasswordWorker = selfExe // empty in tests: hash in process
			}
			return nil
		}},
	{flag: "trusted-proxies", usage: "CIDRs whose X-Forwarded-For is believed, separated by commas or spaces",
		apply: func(c *gatehouse.Config, v string) error {
			c.TrustedProxies = splitList(v)
			return nil
		}},
	{flag: "max-body", def: "1MiB", usage: "request body limit (e.g. 512KiB, 1MiB)",
		apply: func(c *gatehouse.Config, v string) error {
			n, err := parseSize(v)
			c.MaxBody = n
			return err
		}},
	{flag: "metrics-allow", usage: "CIDRs that may scrape /metrics, separated by commas or spaces (default: loopback and private networks)",
		apply: func(c *gatehouse.Config, v string) error {
			c.MetricsAllow = splitList(v)
			return nil
		}},
	{flag: "metrics-scope", usage: "scope a bearer token or API key needs to scrape /metrics (default: none)",
		apply: func(c *gatehouse.Config, v string) error { c.MetricsScope = v; return nil }},
	{flag: "secret-file", usage: "file holding the 32-byte master secret (instead of GATEHOUSE_SECRET)",
		apply: func(c *gatehouse.Config, v string) error { c.SecretFile = v; return nil }},
	{flag: "log-level", def: "info", usage: "debug, info, warn or error", apply: func(*gatehouse.Config, string) error { return nil }},
	{flag: "log-format", def: "text", usage: "text or json", apply: func(*gatehouse.Config, string) error { return nil }},
}

// envName is the environment variable of a flag: GATEHOUSE_<FLAG_NAME>.
func envName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func addSettingFlags(fs *pflag.FlagSet) {
	for _, s := range settings {
		fs.String(s.flag, s.def, s.usage+" [$"+envName(s.flag)+"]")
	}
}

// loadConfig builds the Config: defaults < environment < flags.
func (e *env) loadConfig(cmd *cobra.Command) (gatehouse.Config, error) {
	var c gatehouse.Config
	var errs []string
	for _, s := range settings {
		v := s.def
		if ev := e.getenv(envName(s.flag)); ev != "" {
			v = ev
		}
		if f := cmd.Flags().Lookup(s.flag); f != nil && f.Changed {
			v = f.Value.String()
		}
		if v == "" {
			continue
		}
		if err := s.apply(&c, v); err != nil {
			errs = append(errs, fmt.Sprintf("--%s %q: %v", s.flag, v, err))
		}
	}
	if v := e.getenv("GATEHOUSE_SECRET"); v != "" {
		sec, err := gatehouse.ParseSecret(v)
		if err != nil {
			errs = append(errs, "GATEHOUSE_SECRET: "+err.Error())
		}
		c.Secret = sec
	}
	if v := e.getenv("GATEHOUSE_JWT_SECRET"); v != "" {
		c.JWTSecret = []byte(v)
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	c.Logger = e.logger(cmd)
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

func (e *env) logger(cmd *cobra.Command) *slog.Logger {
	get := func(name string) string {
		v := e.getenv(envName(name))
		if f := cmd.Flags().Lookup(name); f != nil && (f.Changed || v == "") {
			v = f.Value.String()
		}
		return v
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(get("log-level")))
	if cmd.Name() != "serve" && level < slog.LevelWarn {
		level = slog.LevelWarn // CLI commands print their own results
	}
	opts := &slog.HandlerOptions{Level: level}
	if get("log-format") == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a size such as 1MiB or 65536")
	}
	return n * mult, nil
}

// positiveInt parses a whole number of at least 1 into dst.
func positiveInt(v string, dst *int) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return fmt.Errorf("want a whole number of at least 1")
	}
	*dst = n
	return nil
}

// exists reports whether a file exists (used for friendly hints).
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
