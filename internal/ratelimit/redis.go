package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is GCRA as one atomic step. It reads the clock from the Redis
// server (TIME), never from the caller, so replicas whose clocks disagree
// still share one limit. Times are in microseconds, which a Lua number (a
// double) holds exactly for the next few centuries.
//
// KEYS[1]: the key. ARGV[1]: emission interval in µs (may be fractional).
// ARGV[2]: burst. ARGV[3]: "1" counts an allowed event, "0" only answers
// (Peek). Returns {allowed, remaining, reset µs, retry-after µs}.
const gcraScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, 0, math.ceil(tat - now), math.ceil(allow_at - now)}
end
local ttl = new_tat - now
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', math.max(1, math.ceil(ttl / 1000))))
end
return {1, math.floor((now - allow_at) / interval), math.ceil(ttl), 0}
`

// Redis is a [Limiter] whose state lives in Redis, so that every replica
// enforces one shared limit. Each Allow is one round trip running a Lua
// script (EVALSHA, falling back to EVAL when the server does not know it
// yet); keys expire once idle. It returns the client's error when Redis
// cannot be reached; wrap it in [Fallback] to keep limiting locally then.
type Redis struct {
	client redis.UniversalClient
	prefix string
	script *redis.Script
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter that keeps its keys in client under prefix
// (for example "gatehouse:rl:").
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, script: redis.NewScript(gcraScript)}
}

// Allow implements [Limiter].
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return r.run(ctx, key, l, "1")
}

// Peek implements [Limiter].
func (r *Redis) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	return r.run(ctx, key, l, "0")
}

// run runs the script; count is its ARGV[3].
func (r *Redis) run(ctx context.Context, key string, l Limit, count string) (Result, error) {
	if l.Unlimited() {
		return Result{Allowed: true}, nil
	}
	burst := l.burst()
	intervalMicros := 1e6 / l.Rate
	v, err := r.script.Run(ctx, r.client, []string{r.prefix + key},
		strconv.FormatFloat(intervalMicros, 'f', -1, 64), burst, count).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("redis rate limit: %w", err)
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("redis rate limit: script returned %d values, want 4", len(v))
	}
	return Result{
		Allowed:    v[0] == 1,
		Limit:      clampInt(burst),
		Remaining:  clampInt(v[1]),
		Reset:      time.Duration(v[2]) * time.Microsecond,
		RetryAfter: time.Duration(v[3]) * time.Microsecond,
	}, nil
}
