package gatehouse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
)

// Mount the auth server inside your own API and protect your own routes
// with its guard.
func ExampleServer_Mount() {
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	srv, err := gatehouse.New(ctx, gatehouse.Config{
		DatabaseURL: "sqlite:" + filepath.Join(dir, "app.db"),
		Issuer:      "https://api.example.com",
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	srv.Mount(mux) // POST /token, GET /users/me, /api-keys, /.well-known/jwks.json, ...
	mux.Handle("GET /protected/", srv.Guard().Require("read")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			p, _ := guard.PrincipalFrom(r.Context())
			fmt.Fprintf(w, "Hello, %s (%s)", p.Username, p.Method)
		})))

	// A user and an API key, as `gatehouse user create` and `gatehouse
	// apikey create` would make them.
	admin := srv.Admin()
	if _, err := admin.CreateUser(ctx, gatehouse.NewUser{Username: "alice", Password: "correct horse", Scopes: []string{"read"}}); err != nil {
		log.Fatal(err)
	}
	_, key, err := admin.CreateAPIKey(ctx, gatehouse.NewAPIKey{Owner: "alice", Name: "example"})
	if err != nil {
		log.Fatal(err)
	}

	req := httptest.NewRequest("GET", "/protected/", nil)
	req.Header.Set("X-API-Key", key)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	req = httptest.NewRequest("GET", "/protected/", nil)
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 Hello, alice (api_key)
	// 401 Bearer realm="gatehouse"
}

// Run gatehouse as the whole HTTP server, as `gatehouse serve` does.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	srv, err := gatehouse.New(context.Background(), gatehouse.Config{
		DatabaseURL: "sqlite:" + filepath.Join(dir, "gatehouse.db"),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	ts := httptest.NewServer(srv) // or http.ListenAndServe(addr, srv)
	defer ts.Close()
	res, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output: 200
}

// Manage users, keys and clients in process, as the gatehouse CLI does on
// a server's database: here, disable a user, which refuses their logins
// and API keys and revokes their tokens on every replica.
func ExampleAdmin() {
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	srv, err := gatehouse.New(ctx, gatehouse.Config{
		DatabaseURL: "sqlite:" + filepath.Join(dir, "gatehouse.db"),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	admin := srv.Admin()
	if _, err := admin.CreateUser(ctx, gatehouse.NewUser{Username: "bob", Password: "a long passphrase", Scopes: []string{"read"}}); err != nil {
		log.Fatal(err)
	}
	u, err := admin.DisableUser(ctx, "bob")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Username, "disabled:", u.Disabled)

	_, err = admin.User(ctx, "carol")
	fmt.Println(errors.Is(err, gatehouse.ErrNotFound))
	// Output:
	// bob disabled: true
	// true
}
