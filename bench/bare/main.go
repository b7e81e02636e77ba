// Command bare is the baseline of the load test's bare scenario: a bare
// net/http server that answers GET /users/me with a small JSON body shaped
// and sized like gatehouse's answer (about 100 bytes, encoded per request
// with encoding/json), and GET /healthz, with no middleware, no
// authentication and no logging. It is what a Go service without
// gatehouse would do per request, so gatehouse's throughput over bare's,
// measured in the same run, says what authentication and the rest of
// gatehouse's chain cost.
//
// The load test builds and starts it (go run -C bench ./loadtest
// -scenario bare) the way it starts gatehouse:
//
//	bare -addr 127.0.0.1:PORT
//
// It stops on SIGTERM or Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

// me is the body of GET /users/me, the shape of gatehouse's.
type me struct {
	ID         string   `json:"id"`
	Username   string   `json:"username"`
	Scopes     []string `json:"scopes"`
	AuthMethod string   `json:"auth_method"`
}

// handler serves the two routes.
func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(me{ID: "hpj36j6l4g74675qlrvw7murbu", Username: "bench", Scopes: []string{"read", "write"}, AuthMethod: "bearer"})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return mux
}

// serve listens on addr until ctx ends, then shuts down.
func serve(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
