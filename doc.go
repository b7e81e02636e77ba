// Package gatehouse is an embeddable OAuth2 authorization server with API
// keys and JWT access tokens.
//
// Create a [Server] with [New] from a [Config] and either serve it as an
// [http.Handler] or [Server.Mount] its routes onto your own
// [http.ServeMux]; protect your own routes with [Server.Guard]:
//
//	srv, err := gatehouse.New(ctx, gatehouse.Config{DatabaseURL: "sqlite:./app.db"})
//	...
//	mux := http.NewServeMux()
//	srv.Mount(mux) // /token, /oauth2/*, /users/me, /api-keys, /.well-known/*, /healthz
//	mux.Handle("GET /protected/", srv.Guard().Require("read")(myHandler))
//
// [Server.Admin] does in process what the gatehouse CLI does: it creates
// and manages users, API keys and clients, revokes tokens and rotates the
// signing key.
//
// This package is the one place that picks backends and wires gatehouse's
// internal packages together (wire.go); the guard lives in the separate package
// [github.com/gatehouse/gatehouse/guard] so that services that only verify
// tokens need none of this.
package gatehouse
