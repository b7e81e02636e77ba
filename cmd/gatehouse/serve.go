package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/password"
)

func (e *env) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the authorization server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			return (&serveMain{cfg: cfg, out: e, worker: e.passwordWorker(cmd)}).Run(cmd.Context())
		},
	}
}

// serveMain runs the server until ctx ends, then shuts down gracefully.
type serveMain struct {
	cfg gatehouse.Config
	out *env
	// worker is the program to run as the password worker ("" hashes in
	// the server process): this binary, which main makes a worker when
	// started as one (setup).
	worker string
	ready  func(addr string) // tests learn the bound address here
}

// defaultGCPercent is the garbage collector's target (GOGC) that serve runs
// with when the environment sets none. The server's live heap is small
// (caches and keys, a few MB) and every token it issues allocates ~25 kB,
// most of it inside crypto/ecdsa, so with Go's default of 100 it spends a
// tenth of its CPU collecting; 200 lets the heap grow to three times the
// live data instead of two, for 20-35 % more requests per second on the
// endpoints measured (BENCHMARKS.md). Set GOGC (and GOMEMLIMIT) to
// override.
// Only the binary does this: an application embedding gatehouse keeps its
// own setting.
const defaultGCPercent = 200

// tuneGC applies defaultGCPercent unless GOGC is set in the environment,
// which the Go runtime has then applied already, and returns the GOGC in
// effect.
func tuneGC(getenv func(string) string) string {
	if v := getenv("GOGC"); v != "" {
		return v
	}
	debug.SetGCPercent(defaultGCPercent)
	return strconv.Itoa(defaultGCPercent)
}

func (m *serveMain) Run(ctx context.Context) error {
	log := m.cfg.Logger
	gogc := tuneGC(m.out.getenv)
	if m.worker != "" {
		// Hashing in a child process keeps argon2id's memory, page faults
		// and garbage collection away from the goroutines that answer
		// requests. A worker that cannot start leaves hashing here.
		w, err := password.StartWorker(password.WorkerConfig{Path: m.worker, Logger: log})
		if err != nil {
			log.Error("password worker did not start; hashing passwords in the server process", "err", err)
		} else {
			log.Info("password worker started", "pid", w.PID())
			defer w.Close() // after the server: its last login may still be hashing
			ctx = password.WithWorker(ctx, w)
		}
	}
	srv, err := gatehouse.New(ctx, m.cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", m.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	cfg := srv.Config()
	log.Info("gatehouse listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "store", storeKind(cfg.DatabaseURL), "gogc", gogc)
	m.firstAdminHint(ctx, srv)
	if m.ready != nil {
		m.ready(ln.Addr().String())
	}
	// Open revocation-feed streams never end by themselves; end them on shutdown.
	hs.RegisterOnShutdown(srv.CloseStreams)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// firstAdminHint prints how to create the first admin when there is no
// user yet.
func (m *serveMain) firstAdminHint(ctx context.Context, srv *gatehouse.Server) {
	if has, err := srv.Admin().HasUsers(ctx); err == nil && !has {
		fmt.Fprintf(m.out.stderr, "\nNo users yet. Create the first admin with:\n\n"+
			"  gatehouse user create admin --admin --password-stdin\n\n")
	}
}

func storeKind(url string) string {
	if len(url) > 7 && url[:7] == "sqlite:" {
		return url
	}
	return "postgres"
}
