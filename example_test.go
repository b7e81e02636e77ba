package gatehouse_test

import (
	"context"
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
	if _, err := srv.CreateUser(ctx, "alice", "correct horse", []string{"read"}, false); err != nil {
		log.Fatal(err)
	}
	_, key, err := srv.CreateAPIKey(ctx, "alice", "example", nil, 0)
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

// Hash passwords in a child process, as `gatehouse serve` does: the program
// names itself as the worker and, started as one, hashes instead of serving.
// (Not run as a test: it would start a server.)
func ExampleRunPasswordWorkerIfChild() {
	// First thing in main.
	gatehouse.RunPasswordWorkerIfChild()

	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	srv, err := gatehouse.New(context.Background(), gatehouse.Config{
		DatabaseURL:    "sqlite:app.db",
		PasswordWorker: exe,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", srv))
}
