// Package load is a small closed-loop (and, with [RunRate], open-loop)
// HTTP load generator and its statistics, used by the gatehouse load test
// (bench/loadtest).
//
// [Run] drives one [Target] with a fixed number of concurrent workers for a
// bounded time and a bounded number of requests, and records every latency
// in a fixed-size [Histogram], so memory does not grow with the request
// count. [Interleave] runs several targets alternately in short rounds and
// aggregates per target, so that noise on a small shared machine (other
// processes, CPU frequency, GC of the load generator itself) affects every
// target alike; comparing targets by [Ratio] within one run is then far
// more stable than comparing absolute numbers between runs.
//
// The package only ever talks to the local machine: [Run] refuses a URL
// whose host is not a loopback address or "localhost", and the client from
// [NewClient] also refuses to dial anything that is not loopback and does
// not follow redirects.
//
// It stands alone, importing only the standard library, so it can be reused
// by any benchmark of the module and tested without building the server.
package load
