package gatehouse

import "context"

// FlushUsage writes the coalesced API-key usage now (tests cannot wait
// for the periodic flush).
func FlushUsage(ctx context.Context, s *Server) error { return s.usage.Flush(ctx) }

// ForgetCaches drops the API-key and user caches, for tests that change
// records behind the manager's back.
func ForgetCaches(s *Server) { s.invalidate("", "") }

// Housekeep runs the hourly janitor now and returns rows deleted per table.
func Housekeep(ctx context.Context, s *Server) map[string]int64 { return s.housekeep(ctx) }
