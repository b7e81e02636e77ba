// Package ratelimit holds gatehouse's request limits and login throttling.
//
// [Limiter] decides whether one more event for a key fits a [Limit]. Both
// backends, [Memory] for a single node and [Redis] for replicas sharing
// limits, implement the generic cell rate algorithm (GCRA), so they give the
// same answers: a key may spend Burst events at once and then one more every
// 1/Rate seconds. GCRA keeps one timestamp per key (the "theoretical arrival
// time") and needs no background refill. [Fallback] puts the Redis limiter in
// front of a memory one and switches over while Redis is unreachable.
//
// [Throttle] slows and then locks password guessing per account and per
// client address. It counts failures in [Counters], again with a memory and
// a Redis backend.
//
// The package imports only the standard library and go-redis; it knows
// nothing of HTTP beyond writing the RateLimit-* headers ([SetHeaders]). Its
// shared test suite lives in ratelimittest.
package ratelimit
