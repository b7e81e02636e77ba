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
// [Throttle] limits the guessing of a secret a person holds (a password;
// later one-time, recovery and device user codes): it locks the guessing
// address, then the address out of the account, and only slows the account
// down. It reserves each attempt before the secret is checked, in
// [Counters], again with a memory and a Redis backend.
//
// The package imports only the standard library and go-redis; it knows
// nothing of HTTP beyond writing the RateLimit-* headers ([SetHeaders]). Its
// shared test suite lives in ratelimittest.
package ratelimit
