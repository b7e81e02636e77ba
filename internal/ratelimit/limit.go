package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limit is a rate limit: Rate events per second on average, with up to Burst
// events at once. The zero Limit (any Rate <= 0) means unlimited. A Burst
// below 1 counts as 1.
type Limit struct {
	Rate  float64 // events per second
	Burst int
}

// Unlimited reports whether l lets everything through.
func (l Limit) Unlimited() bool { return !(l.Rate > 0) }

// burst returns the effective burst, at least 1.
func (l Limit) burst() int64 {
	if l.Burst < 1 {
		return 1
	}
	return int64(l.Burst)
}

// Bounds for ParseLimit, so that intervals and bursts stay far from int64
// overflow in nanoseconds.
const (
	maxCount = 1e9
	maxBurst = 1e9
)

var periods = []struct {
	unit string
	d    time.Duration
}{
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
	{"d", 24 * time.Hour},
}

// ParseLimit parses a limit written as COUNT/UNIT[:BURST], where UNIT is s,
// m, h or d: "10/s", "100/m", "1000/h", "5/s:20". COUNT may be fractional
// ("0.5/s"); BURST defaults to COUNT rounded up. "" and "unlimited" give the
// zero (unlimited) Limit.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "unlimited" {
		return Limit{}, nil
	}
	rest, burstStr, hasBurst := strings.Cut(s, ":")
	countStr, unit, ok := strings.Cut(rest, "/")
	if !ok {
		return Limit{}, fmt.Errorf("parse limit %q: want COUNT/UNIT such as 10/s", s)
	}
	count, err := strconv.ParseFloat(strings.TrimSpace(countStr), 64)
	if err != nil || !(count > 0) || count > maxCount {
		return Limit{}, fmt.Errorf("parse limit %q: count must be a number above 0 and at most %d", s, int64(maxCount))
	}
	unit = strings.TrimSpace(unit)
	var period time.Duration
	for _, p := range periods {
		if unit == p.unit {
			period = p.d
		}
	}
	if period == 0 {
		return Limit{}, fmt.Errorf("parse limit %q: unit must be s, m, h or d", s)
	}
	l := Limit{Rate: count / period.Seconds(), Burst: int(math.Ceil(count))}
	if hasBurst {
		b, err := strconv.Atoi(strings.TrimSpace(burstStr))
		if err != nil || b < 1 || b > maxBurst {
			return Limit{}, fmt.Errorf("parse limit %q: burst must be a whole number from 1 to %d", s, int64(maxBurst))
		}
		l.Burst = b
	}
	return l, nil
}

// String formats l so that [ParseLimit] reads it back: the count per the
// shortest period in which it is a whole number ("100/m" rather than
// "1.6666666666666667/s"), with ":BURST" when the burst is not the default.
// The zero Limit is "unlimited".
func (l Limit) String() string {
	if l.Unlimited() {
		return "unlimited"
	}
	var buf [48]byte
	return string(l.AppendText(buf[:0]))
}

// AppendText appends [Limit.String] to b, without allocating when b has
// room (for building limiter keys per request).
func (l Limit) AppendText(b []byte) []byte {
	if l.Unlimited() {
		return append(b, "unlimited"...)
	}
	count, unit := l.Rate, byte('s')
	for _, p := range periods {
		c := l.Rate * p.d.Seconds()
		if r := math.Round(c); math.Abs(c-r) < 1e-9*math.Max(1, r) && r >= 1 {
			count, unit = r, p.unit[0]
			break
		}
	}
	b = strconv.AppendFloat(b, count, 'g', -1, 64)
	b = append(b, '/', unit)
	if burst := l.burst(); burst != int64(math.Ceil(count)) {
		b = append(b, ':')
		b = strconv.AppendInt(b, burst, 10)
	}
	return b
}

// Result is the outcome of one [Limiter.Allow] call. For an unlimited Limit
// only Allowed is set.
type Result struct {
	// Allowed reports whether the event fits the limit. A denied event is
	// not counted.
	Allowed bool
	// Limit is the burst: the most events allowed at once.
	Limit int
	// Remaining is how many more events would be allowed right now.
	Remaining int
	// Reset is the time until the full burst is available again.
	Reset time.Duration
	// RetryAfter is, for a denied event, the time until one event would be
	// allowed; 0 when Allowed.
	RetryAfter time.Duration
}

// Limiter decides whether one more event for a key fits a limit.
//
// Implementations are safe for concurrent use, and the decision and its
// bookkeeping are atomic: of N concurrent calls against a fresh key with
// burst B, exactly min(N, B) are allowed. Different limits may be used for
// the same key, though the state is shared. A Limiter returns an error only
// when its backend fails; callers choose whether to fail open or closed
// ([Fallback] falls back to a local limiter).
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Peek answers as Allow would for one more event now, without
	// counting it. A budget that only some events spend (failed requests)
	// is checked with Peek by every event and spent with Allow by those
	// that count.
	Peek(ctx context.Context, key string, l Limit) (Result, error)
}

// gcra applies the generic cell rate algorithm at time now (any unit, the
// same as tat and interval). tat is the key's stored theoretical arrival
// time, or 0 if it has none. It returns the new tat to store when the event
// is allowed.
//
// Each event pushes tat one emission interval into the future; an event is
// allowed while tat stays within burst intervals of now.
func gcra(now, tat, interval, burst int64) (newTat int64, allowed bool, remaining, reset, retryAfter int64) {
	if tat < now {
		tat = now
	}
	tolerance := satMul(interval, burst)
	newTat = tat + interval
	allowAt := newTat - tolerance
	if now < allowAt {
		return 0, false, 0, tat - now, allowAt - now
	}
	return newTat, true, (now - allowAt) / interval, newTat - now, 0
}

// satMul multiplies non-negative a and b, saturating well below overflow so
// that sums with a time stay in range.
func satMul(a, b int64) int64 {
	const ceiling = math.MaxInt64 / 4
	if a != 0 && b > ceiling/a {
		return ceiling
	}
	return a * b
}

// intervalNanos is the emission interval of l in nanoseconds, at least 1.
func (l Limit) intervalNanos() int64 {
	iv := 1e9 / l.Rate
	if iv >= math.MaxInt64/8 {
		return math.MaxInt64 / 8
	}
	if iv < 1 {
		return 1
	}
	return int64(iv)
}

func clampInt(v int64) int {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(v)
}
