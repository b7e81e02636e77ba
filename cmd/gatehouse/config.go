package main

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/defaults"
	"github.com/gatehouse/gatehouse/internal/mastersecret"
	"github.com/gatehouse/gatehouse/internal/service"
)

// env is the process around the CLI (swapped in tests).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// setting binds one Config field to one flag and one GATEHOUSE_* variable,
// read only by the commands that take it.
type setting struct {
	name  string // the flag; the variable is GATEHOUSE_<NAME>
	kind  string // what the value is, for --help: bool, duration, size, int, list or string
	def   string // the default as the flag is written; "" = none (usage says what then)
	usage string
	apply func(c *gatehouse.Config, v string) error
	// on lists the commands that take the setting besides serve: "migrate",
	// a command path such as "key rotate", or anyTool for every command
	// that works on the database (all but serve, migrate and version).
	on []string
}

// anyTool stands for every command that works on the database.
const anyTool = "*"

// settingTable is the single table of settings: every flag of every
// command that comes from the configuration, with its GATEHOUSE_*
// variable and its default, which internal/defaults holds for the server
// too.
func settingTable() []setting {
	// revokers write revocation entries or retire signing keys, which
	// must outlive the longest access token (access-token TTL plus clock
	// skew).
	revokers := []string{"user disable", "user logout", "user passwd", "client delete", "key rotate", "key revoke"}
	// keyCommands decide which signing keys are in use and which a
	// rotation makes.
	keyCommands := []string{"key list", "key rotate", "key revoke"}
	return []setting{
		str("addr", defaults.Addr, "listen address", func(c *gatehouse.Config) *string { return &c.Addr }),
		str("database-url", defaults.DatabaseURL, "sqlite:PATH or postgres://...", func(c *gatehouse.Config) *string { return &c.DatabaseURL },
			"migrate", anyTool),
		str("issuer", "", "iss of every token: the URL clients use (default http://<addr>; set it when --addr is 0.0.0.0)",
			func(c *gatehouse.Config) *string { return &c.Issuer }),
		str("audience", "", "aud of access tokens (default: the issuer)", func(c *gatehouse.Config) *string { return &c.Audience }),
		duration("access-token-ttl", defaults.AccessTokenTTL, "access-token lifetime",
			func(c *gatehouse.Config) *time.Duration { return &c.AccessTokenTTL }, revokers...),
		duration("refresh-token-ttl", defaults.RefreshTokenTTL, "absolute refresh-token lifetime",
			func(c *gatehouse.Config) *time.Duration { return &c.RefreshTokenTTL }),
		duration("refresh-idle-ttl", 0, "refresh token expires after this long unused (default: never)",
			func(c *gatehouse.Config) *time.Duration { return &c.RefreshIdleTTL }),
		{name: "refresh-reuse-grace", kind: "duration", def: fmtDuration(defaults.RefreshReuseGrace),
			usage: "window in which a used refresh token gets the same successor; 0s turns it off",
			apply: func(c *gatehouse.Config, v string) error {
				d, err := service.ParseDuration(v)
				if d == 0 {
					d = -1
				}
				c.RefreshReuseGrace = d
				return err
			}},
		duration("login-session-ttl", defaults.LoginSessionTTL, "how long a browser stays signed in at the authorization endpoint",
			func(c *gatehouse.Config) *time.Duration { return &c.LoginSessionTTL }),
		duration("clock-skew", defaults.ClockSkew, "leeway for exp/nbf/iat checks",
			func(c *gatehouse.Config) *time.Duration { return &c.ClockSkew }, revokers...),
		duration("key-rotation", 0, "rotate the signing key this often (default: only by 'key rotate')",
			func(c *gatehouse.Config) *time.Duration { return &c.KeyRotation }),
		duration("key-publish-delay", defaults.KeyPublishDelay, "how long a new signing key is published before it signs",
			func(c *gatehouse.Config) *time.Duration { return &c.KeyPublishDelay }, "key rotate"),
		str("signing-alg", defaults.SigningAlg, "ES256, EdDSA, RS256 or HS256 (secret in GATEHOUSE_JWT_SECRET)",
			func(c *gatehouse.Config) *string { return &c.SigningAlg }, keyCommands...),
		boolean("password-grant", defaults.PasswordGrant, "enable the password grant server-wide",
			func(c *gatehouse.Config, on bool) { c.DisablePasswordGrant = !on }),
		str("api-key-prefix", defaults.APIKeyPrefix, "prefix of new API keys", func(c *gatehouse.Config) *string { return &c.APIKeyPrefix },
			"apikey create", "apikey rotate"),
		str("redis-url", "", "redis://... to share rate limits across replicas", func(c *gatehouse.Config) *string { return &c.RedisURL }),
		str("rate-limit-ip", defaults.RateLimitIP, "requests per client address, e.g. 100/s:1000 or unlimited",
			func(c *gatehouse.Config) *string { return &c.RateLimitIP }),
		str("rate-limit-user", defaults.RateLimitUser, "authenticated requests per user",
			func(c *gatehouse.Config) *string { return &c.RateLimitUser }),
		str("rate-limit-apikey", defaults.RateLimitAPIKey, "requests per API key without its own limit",
			func(c *gatehouse.Config) *string { return &c.RateLimitAPIKey }),
		str("rate-limit-client", defaults.RateLimitClient, "token requests per OAuth2 client without its own limit",
			func(c *gatehouse.Config) *string { return &c.RateLimitClient }),
		str("rate-limit-token", defaults.RateLimitToken, "password attempts (token endpoint, login form), and apart failed token requests, per client address",
			func(c *gatehouse.Config) *string { return &c.RateLimitToken }),
		integer("login-max-failures", defaults.LoginMaxFailures, "failed logins in a row from one address at one account that lock that address out of the account (the account is only slowed down)",
			func(c *gatehouse.Config) *int { return &c.LoginMaxFailures }),
		duration("login-lockout", defaults.LoginLockout, "how long an address stays locked out of an account after its last failure, and how long an account's failures are remembered",
			func(c *gatehouse.Config) *time.Duration { return &c.LoginLockout }),
		str("login-ip-limit", defaults.LoginIPLimit, "failed logins per client address (IPv6 per /64), whatever the account",
			func(c *gatehouse.Config) *string { return &c.LoginIPLimit }),
		duration("audit-retention", 0, "delete audit events older than this, e.g. 365d (default: keep forever)",
			func(c *gatehouse.Config) *time.Duration { return &c.AuditRetention }),
		integer("password-hash-concurrency", 0, "password hashes run at once (default: half the CPUs)",
			func(c *gatehouse.Config) *int { return &c.PasswordHashConcurrency }),
		// The password worker is serve's, not the server's: serve reads
		// this setting itself (passwordWorker).
		boolean("password-worker", defaults.PasswordWorker, "hash passwords in a child process, so a login flood does not slow other requests",
			func(*gatehouse.Config, bool) {}),
		list("trusted-proxies", "CIDRs whose X-Forwarded-For is believed, separated by commas or spaces",
			func(c *gatehouse.Config) *[]string { return &c.TrustedProxies }),
		{name: "max-body", kind: "size", def: fmtSize(defaults.MaxBody), usage: "request body limit (e.g. 512KiB, 1MiB)",
			apply: func(c *gatehouse.Config, v string) error {
				n, err := parseSize(v)
				c.MaxBody = n
				return err
			}},
		list("metrics-allow", "CIDRs that may scrape /metrics, separated by commas or spaces (default: loopback and private networks)",
			func(c *gatehouse.Config) *[]string { return &c.MetricsAllow }),
		str("metrics-scope", "", "scope a bearer token or API key needs to scrape /metrics (default: none)",
			func(c *gatehouse.Config) *string { return &c.MetricsScope }),
		str("secret-file", "", "file holding the 32-byte master secret (instead of GATEHOUSE_SECRET)",
			func(c *gatehouse.Config) *string { return &c.SecretFile }, anyTool),
		{name: "log-level", kind: "string", def: defaults.LogLevel, usage: "debug, info, warn or error",
			apply: func(*gatehouse.Config, string) error { return nil }, on: []string{"migrate"}},
		{name: "log-format", kind: "string", def: defaults.LogFormat, usage: "text or json",
			apply: func(*gatehouse.Config, string) error { return nil }, on: []string{"migrate"}},
	}
}

func str(name, def, usage string, field func(*gatehouse.Config) *string, on ...string) setting {
	return setting{name: name, kind: "string", def: def, usage: usage, on: on,
		apply: func(c *gatehouse.Config, v string) error { *field(c) = v; return nil }}
}

func duration(name string, def time.Duration, usage string, field func(*gatehouse.Config) *time.Duration, on ...string) setting {
	return setting{name: name, kind: "duration", def: fmtDuration(def), usage: usage, on: on,
		apply: func(c *gatehouse.Config, v string) error {
			d, err := service.ParseDuration(v)
			*field(c) = d
			return err
		}}
}

func integer(name string, def int, usage string, field func(*gatehouse.Config) *int, on ...string) setting {
	s := setting{name: name, kind: "int", usage: usage, on: on,
		apply: func(c *gatehouse.Config, v string) error { return positiveInt(v, field(c)) }}
	if def != 0 {
		s.def = strconv.Itoa(def)
	}
	return s
}

func boolean(name string, def bool, usage string, set func(c *gatehouse.Config, on bool), on ...string) setting {
	return setting{name: name, kind: "bool", def: strconv.FormatBool(def), usage: usage, on: on,
		apply: func(c *gatehouse.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			set(c, b)
			return nil
		}}
}

func list(name, usage string, field func(*gatehouse.Config) *[]string, on ...string) setting {
	return setting{name: name, kind: "list", usage: usage, on: on,
		apply: func(c *gatehouse.Config, v string) error { *field(c) = splitList(v); return nil }}
}

// fmtDuration writes d as a flag takes it: "15m", "720h", "5s"; "" for 0.
func fmtDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	for _, zero := range []string{"0s", "0m"} {
		if t, ok := strings.CutSuffix(s, zero); ok && t != "" && !strings.HasSuffix(t, ".") {
			s = t
		}
	}
	return s
}

// fmtSize writes n bytes as a flag takes it: "1MiB", "512KiB" or bytes.
func fmtSize(n int64) string {
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// envName is the environment variable of a setting: GATEHOUSE_<NAME>.
func envName(name string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// commandName is cmd's path without the program name: "user create".
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), "gatehouse"), " ")
}

// worksOnDatabase reports whether cmd is a command that opens the
// database for work (every runnable command but serve, migrate, version
// and cobra's own).
func worksOnDatabase(cmd *cobra.Command) bool {
	switch commandName(cmd) {
	case "serve", "migrate", "version", "help", "completion":
		return false
	}
	return cmd.Runnable() && !isGroup(cmd) && cmd.HasParent() && cmd.Parent().Name() != "completion"
}

// takenBy reports whether cmd takes setting s.
func (s setting) takenBy(cmd *cobra.Command) bool {
	name := commandName(cmd)
	return name == "serve" || slices.Contains(s.on, name) || slices.Contains(s.on, anyTool) && worksOnDatabase(cmd)
}

// settingsOf returns the settings cmd takes.
func settingsOf(cmd *cobra.Command) []setting {
	var out []setting
	for _, s := range settingTable() {
		if s.takenBy(cmd) {
			out = append(out, s)
		}
	}
	return out
}

// takesJWTSecret reports whether cmd reads GATEHOUSE_JWT_SECRET: the
// commands that take the signing algorithm.
func takesJWTSecret(cmd *cobra.Command) bool {
	return slices.ContainsFunc(settingsOf(cmd), func(s setting) bool { return s.name == "signing-alg" })
}

// textValue is a setting's flag value: a string that --help describes by
// its kind ("duration", "size", …).
type textValue struct {
	v    *string
	kind string
}

func (t textValue) String() string     { return *t.v }
func (t textValue) Set(v string) error { *t.v = v; return nil }
func (t textValue) Type() string       { return t.kind }

// addSettingFlags adds the flags of cmd's settings to fs.
func addSettingFlags(cmd *cobra.Command, fs *pflag.FlagSet) {
	for _, s := range settingsOf(cmd) {
		usage := s.usage + " [$" + envName(s.name) + "]"
		if s.kind == "bool" {
			fs.Bool(s.name, s.def == "true", usage)
			continue
		}
		v := s.def
		fs.Var(textValue{v: &v, kind: s.kind}, s.name, usage)
	}
}

// loadConfig builds the Config of cmd from the settings it takes:
// defaults < environment < flags. Settings the command does not take keep
// their zero value, which means the server's default.
func (e *env) loadConfig(cmd *cobra.Command) (gatehouse.Config, error) {
	var c gatehouse.Config
	var errs []string
	for _, s := range settingsOf(cmd) {
		v := s.def
		if ev := e.getenv(envName(s.name)); ev != "" {
			v = ev
		}
		if f := cmd.Flags().Lookup(s.name); f != nil && f.Changed {
			v = f.Value.String()
		}
		if v == "" {
			continue
		}
		if err := s.apply(&c, v); err != nil {
			errs = append(errs, fmt.Sprintf("--%s %q: %v", s.name, v, err))
		}
	}
	if v := e.getenv("GATEHOUSE_SECRET"); v != "" && commandName(cmd) != "migrate" {
		sec, err := mastersecret.Parse(v)
		if err != nil {
			errs = append(errs, "GATEHOUSE_SECRET: "+err.Error())
		}
		c.Secret = sec
	}
	if v := e.getenv("GATEHOUSE_JWT_SECRET"); v != "" && takesJWTSecret(cmd) {
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

// passwordWorker returns the program serve starts as its password worker:
// this binary, unless --password-worker (or GATEHOUSE_PASSWORD_WORKER)
// says false; "" hashes in the server process (and in tests, where
// selfExe is empty).
func (e *env) passwordWorker(cmd *cobra.Command) string {
	v := e.getenv(envName("password-worker"))
	if f := cmd.Flags().Lookup("password-worker"); f != nil && f.Changed {
		v = f.Value.String()
	}
	if on, err := strconv.ParseBool(v); err == nil && !on {
		return ""
	}
	return selfExe
}

// logger is serve's and migrate's log as --log-level and --log-format
// say, and the warnings of every other command, which prints its own
// results.
func (e *env) logger(cmd *cobra.Command) *slog.Logger {
	get := func(name, def string) string {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			return def
		}
		if v := e.getenv(envName(name)); v != "" && !f.Changed {
			return v
		}
		return f.Value.String()
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(get("log-level", "warn")))
	opts := &slog.HandlerOptions{Level: level}
	if get("log-format", "text") == "json" {
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
