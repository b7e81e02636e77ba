// Command quickstart is the FastAPI "OAuth2, JWT and API keys" tutorial
// app, built on gatehouse: a small API that mounts the auth server (POST
// /token, GET /users/me, /api-keys) and adds its own routes, protected by
// the guard.
//
//	go run ./examples/quickstart
//
// It creates the tutorial's demo user "johndoe" — with the password
// "secret-password", since the tutorial's "secret" is too short for
// gatehouse's password policy — and an API key on first start, and prints
// curl commands that call it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	addr := envOr("QUICKSTART_ADDR", "127.0.0.1:8000")
	app, err := newApp(ctx, gatehouse.Config{
		Addr:        addr,
		DatabaseURL: envOr("QUICKSTART_DATABASE_URL", "sqlite:./quickstart.db"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer app.srv.Close()
	key, err := app.seed(ctx)
	if err != nil {
		log.Fatal(err)
	}
	printUsage(os.Stdout, "http://"+addr, key)
	hs := &http.Server{Addr: addr, Handler: app.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// The tutorial's user.
const (
	demoUser     = "johndoe"
	demoPassword = "secret-password"
)

// printUsage prints curl commands for the API at base: a token from the
// tutorial's password form (FastAPI's OAuth2PasswordRequestForm, which
// sends no grant_type), and, when key is set (it is shown only on the
// first start), a call of the API-key route. main_test.go runs them as
// printed.
func printUsage(w io.Writer, base, key string) {
	form := url.Values{"username": {demoUser}, "password": {demoPassword}}
	fmt.Fprintf(w, "quickstart API on %s\n\n", base)
	fmt.Fprintf(w, "  curl -s -d '%s' %s/token\n", form.Encode(), base)
	if key != "" {
		fmt.Fprintf(w, "  curl -s -H 'X-API-Key: %s' %s/protected/\n", key, base)
	}
}

// app is the quickstart API: gatehouse's routes plus the app's own.
type app struct {
	srv     *gatehouse.Server
	handler http.Handler
}

func newApp(ctx context.Context, cfg gatehouse.Config) (*app, error) {
	srv, err := gatehouse.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	srv.Mount(mux) // POST /token, GET /users/me, /api-keys, /.well-known/*, /healthz …

	// The app's own protected route: any valid API key or bearer token.
	mux.Handle("GET /protected/", srv.Guard().Require()(http.HandlerFunc(protected)))
	// A route that needs the "items:read" scope.
	mux.Handle("GET /items/", srv.Guard().Require("items:read")(http.HandlerFunc(items)))
	return &app{srv: srv, handler: mux}, nil
}

func protected(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	writeJSON(w, map[string]any{
		"message": "Hello, " + p.Username,
		"data":    map[string]any{"auth_method": p.Method, "scopes": p.Scopes},
	})
}

func items(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, []map[string]string{{"item_id": "Foo", "owner": "johndoe"}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// seed creates the tutorial's user and an API key once; it returns the
// key when it made one.
func (a *app) seed(ctx context.Context) (string, error) {
	admin := a.srv.Admin()
	if _, err := admin.User(ctx, demoUser); err == nil {
		return "", nil
	}
	if _, err := admin.CreateUser(ctx, gatehouse.NewUser{Username: demoUser, Password: demoPassword, Scopes: []string{"me", "items:read"}}); err != nil {
		return "", err
	}
	_, key, err := admin.CreateAPIKey(ctx, gatehouse.NewAPIKey{Owner: demoUser, Name: "quickstart"})
	return key, err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
