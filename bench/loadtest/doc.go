// Command loadtest measures a real gatehouse server on loopback.
//
// It builds (or takes, with -bin) the gatehouse binary, starts
// `gatehouse serve` on a free 127.0.0.1 port with a fresh SQLite database
// in a temporary directory, sets up a user, an API key, a client and
// tokens through the CLI and the token endpoint, and runs the scenarios
// named by -scenario:
//
//   - auth: GET /healthz, GET /users/me with a bearer JWT and with an API
//     key, interleaved in rounds, with throughput ratios to /healthz;
//   - token: /healthz, the client-credentials grant and introspection;
//   - flood: the p99 latency of GET /users/me alone and while a flood of
//     wrong-password logins hits POST /oauth2/token.
//
// Usage:
//
//	go run ./bench/loadtest [-scenario auth,token,flood] [-duration 5s]
//	    [-rounds 3] [-concurrency 16] [-flood-workers 64] [-json] [-out FILE]
//
// The server is stopped (SIGTERM, then kill) and the temporary directory
// removed on exit, including after Ctrl-C. See bench/README.md for the
// method. The load generator itself lives in bench/load.
package main
