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
//   - bare: the same, next to GET /users/me on a bare net/http handler
//     (bench/bare, built unless -bare-bin names it, run as a process of its
//     own on loopback), with throughput ratios to the bare handler;
//   - token: /healthz, the client-credentials grant and introspection;
//   - logins: successful password logins per second from 1, 4 and 32
//     closed-loop clients (the bench user's right password, real argon2id,
//     every limit off, its own server), alternating in rounds, and the rate
//     with 32 clients over the rate with 4;
//   - flood: the p99 latency of GET /users/me (an open loop at -me-rate
//     from 127.0.0.2) alone and while wrong-password logins hit
//     POST /oauth2/token from -flood-workers other loopback addresses
//     (127.0.0.10 on), first at a fixed -flood-rate (open loop), then from
//     -flood-workers closed-loop workers. It runs against a second server
//     with every limit at its default, as an operator would run it; auth
//     and token turn the request limits off, since their load comes from
//     one address as fast as the server answers.
//
// Usage:
//
//	go run -C bench ./loadtest [-scenario auth,bare,token,limits,logins,flood] [-duration 5s]
//	    [-rounds 3] [-concurrency 16] [-flood-workers 64] [-flood-rate 800]
//	    [-me-rate 40] [-postgres URL] [-bin PATH] [-bare-bin PATH] [-json] [-out FILE]
//
// With -postgres (an admin URL such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), every
// server runs on its own new PostgreSQL database, gatehouse_load_<16 hex>,
// reached with the admin URL's user, host and query; the report names the
// backend.
//
// The servers are stopped (SIGTERM, then kill), then the databases dropped
// and the temporary directory removed on exit, including after Ctrl-C. See bench/README.md for the
// method. The load generator itself lives in bench/load.
package main
