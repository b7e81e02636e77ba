package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener follows [NotifyChannel] on a PostgreSQL database with LISTEN,
// on a dedicated connection of its own (not one of the pool's: a pooled
// connection would be handed to other queries and lose the LISTEN).
//
// URL (a postgres:// URL) is required. OnNotify is called with the payload
// of every notification (the new entry's Seq in decimal); OnConnect after
// each successful (re)connection, because notifications sent while the
// listener was away are lost and the caller must catch up by reading the
// store. Both run on the listener's goroutine and should not block.
// Logger (optional) receives connection failures. MinBackoff (default
// 100ms) and MaxBackoff (default 5s) bound the wait between reconnection
// attempts, which doubles after each failure.
//
// Set the fields before [Listener.Run]; PID and Connected may be called
// concurrently.
type Listener struct {
	URL        string
	OnNotify   func(payload string)
	OnConnect  func()
	Logger     *slog.Logger
	MinBackoff time.Duration
	MaxBackoff time.Duration

	pid atomic.Uint32
}

// PID returns the server process id of the listening connection, or 0
// while disconnected. Tests use it to kill the connection with
// pg_terminate_backend.
func (l *Listener) PID() uint32 { return l.pid.Load() }

// Connected reports whether the listener holds a live connection.
func (l *Listener) Connected() bool { return l.pid.Load() != 0 }

// Run listens until ctx is done, reconnecting with backoff whenever the
// connection fails, and returns nil then.
func (l *Listener) Run(ctx context.Context) error {
	if l.URL == "" {
		return errors.New("listen: no database url")
	}
	minB, maxB := l.MinBackoff, l.MaxBackoff
	if minB <= 0 {
		minB = 100 * time.Millisecond
	}
	if maxB < minB {
		maxB = max(5*time.Second, minB)
	}
	backoff := minB
	for {
		connected, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = minB
		}
		if l.Logger != nil {
			l.Logger.Warn("revocation listener disconnected; reconnecting", "err", err, "backoff", backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxB)
	}
}

// session connects, listens and forwards notifications until the
// connection fails; it reports whether it got as far as listening.
func (l *Listener) session(ctx context.Context) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, l.URL)
	cancel()
	if err != nil {
		return false, fmt.Errorf("listen: connect: %w", err)
	}
	defer func() {
		l.pid.Store(0)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{NotifyChannel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	l.pid.Store(conn.PgConn().PID())
	if l.OnConnect != nil {
		l.OnConnect()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("listen: wait: %w", err)
		}
		if l.OnNotify != nil && n.Channel == NotifyChannel {
			l.OnNotify(n.Payload)
		}
	}
}
