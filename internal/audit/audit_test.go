package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2030, 5, 6, 12, 0, 0, 123_456_789, time.UTC)

func mustRecord(t testing.TB, r *Recorder, e Event) {
	t.Helper()
	if err := r.Append(t.Context(), e); err != nil {
		t.Fatalf("Record(%s) error = %v", e.Action, err)
	}
}

func mustList(t testing.TB, log store.AuditLog, f store.AuditFilter) []store.AuditEvent {
	t.Helper()
	es, err := log.ListAudit(t.Context(), f)
	if err != nil {
		t.Fatalf("ListAudit(%+v) error = %v", f, err)
	}
	return es
}

func mustVerify(t testing.TB, log store.AuditLog) Report {
	t.Helper()
	rep, err := Verify(t.Context(), log)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	return rep
}

func mustExec(t testing.TB, db *sqlstore.DB, query string) {
	t.Helper()
	if _, err := db.SQL().ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// recordN records n events, one second apart, with Reason "n=<i>".
func recordN(t testing.TB, r *Recorder, c *clock, n int) {
	t.Helper()
	for i := range n {
		mustRecord(t, r, Event{
			Action: LoginFailed, Actor: "", Target: "user" + string(rune('a'+i%26)), IP: "192.0.2.1",
			UserAgent: "test", RequestID: "req", Result: ResultFailure, Reason: "n=" + string(rune('0'+i%10)),
		})
		c.Advance(time.Second)
	}
}

func TestRecordAndList(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: t0}
		var buf bytes.Buffer
		rec := &Recorder{Store: db, Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Now: c.Now}
		in := []Event{
			{Action: LoginSucceeded, Actor: "u1", Target: "u1", IP: "192.0.2.7", UserAgent: "curl/8", RequestID: "r1", Result: ResultSuccess},
			{Action: APIKeyRevoked, Actor: "admin", Target: "k1", IP: "2001:db8::1", RequestID: "r2", Result: ResultSuccess, Reason: "by admin"},
			{Action: LoginFailed, Target: "bob", Result: ResultFailure, Reason: "bad_password"},
		}
		for _, e := range in {
			mustRecord(t, rec, e)
			c.Advance(time.Millisecond)
		}
		got := mustList(t, db, store.AuditFilter{})
		var want []store.AuditEvent
		for i, e := range in {
			want = append(want, store.AuditEvent{
				Seq: int64(i + 1), Time: store.Normalize(t0.Add(time.Duration(i) * time.Millisecond)),
				Action: string(e.Action), Actor: e.Actor, Target: e.Target, IP: e.IP, UserAgent: e.UserAgent,
				RequestID: e.RequestID, Result: e.Result, Reason: e.Reason,
			})
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.AuditEvent{}, "PrevHash", "Hash"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListAudit() mismatch (-want +got):\n%s", diff)
		}
		for i, e := range got {
			if !bytes.Equal(e.Hash, ChainHash(e)) {
				t.Errorf("event %d: Hash != ChainHash(event)", e.Seq)
			}
			if i > 0 && !bytes.Equal(e.PrevHash, got[i-1].Hash) {
				t.Errorf("event %d: PrevHash != hash of event %d", e.Seq, got[i-1].Seq)
			}
		}
		if len(got) > 0 && len(got[0].PrevHash) != 0 {
			t.Errorf("first event PrevHash = %x, want empty", got[0].PrevHash)
		}

		// One structured log line per event.
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != len(in) {
			t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(in), buf.String())
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[1]), &line); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]any{
			"msg": "audit", "action": "apikey.revoked", "actor": "admin", "target": "k1", "ip": "2001:db8::1",
			"request_id": "r2", "result": "success", "reason": "by admin", "seq": float64(2),
		} {
			if line[k] != v {
				t.Errorf("log line %s = %v, want %v", k, line[k], v)
			}
		}
	})
}

func TestRecordValidatesAndClips(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	rec := &Recorder{Store: db}
	if err := rec.Append(t.Context(), Event{Target: "x"}); err == nil {
		t.Error("Record without an action: error = nil")
	}
	long := strings.Repeat("é", MaxFieldLen) // 2 bytes per rune
	mustRecord(t, rec, Event{Action: UserUpdated, UserAgent: long, Reason: "ok"})
	es := mustList(t, db, store.AuditFilter{})
	if len(es) != 1 {
		t.Fatalf("%d events, want 1", len(es))
	}
	if ua := es[0].UserAgent; len(ua) > MaxFieldLen || !strings.HasPrefix(long, ua) || len(ua) < MaxFieldLen-1 {
		t.Errorf("UserAgent clipped to %d bytes (valid prefix %v), want <= %d", len(ua), strings.HasPrefix(long, ua), MaxFieldLen)
	}
}

// failingLog fails every append.
type failingLog struct{ store.AuditLog }

func (failingLog) AppendAudit(context.Context, store.AuditEvent, func(store.AuditEvent) []byte) (store.AuditEvent, error) {
	return store.AuditEvent{}, errors.New("disk full")
}

func TestRecordStoreFailureStillLogs(t *testing.T) {
	var buf bytes.Buffer
	rec := &Recorder{Store: failingLog{}, Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	err := rec.Append(t.Context(), Event{Action: LoginFailed, Target: "bob"})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Record() error = %v, want the store's error", err)
	}
	if out := buf.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "action=login.failed") {
		t.Errorf("log line = %q, want an error-level audit line", out)
	}
	// Without a store the recorder only logs.
	buf.Reset()
	logOnly := &Recorder{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := logOnly.Append(t.Context(), Event{Action: LoginSucceeded}); err != nil || !strings.Contains(buf.String(), "msg=audit") {
		t.Errorf("log-only Record() = %v, log %q", err, buf.String())
	}
}

func TestChainHash(t *testing.T) {
	base := store.AuditEvent{
		Seq: 7, Time: t0, Action: "login.failed", Actor: "a", Target: "bc", IP: "ip", UserAgent: "ua",
		RequestID: "r", Result: "failure", Reason: "why", PrevHash: []byte{1, 2, 3},
	}
	tests := []struct {
		name string
		mod  func(e *store.AuditEvent)
	}{
		{"field boundary moved", func(e *store.AuditEvent) { e.Actor, e.Target = "ab", "c" }},
		{"seq", func(e *store.AuditEvent) { e.Seq = 8 }},
		{"time", func(e *store.AuditEvent) { e.Time = e.Time.Add(time.Microsecond) }},
		{"prev hash", func(e *store.AuditEvent) { e.PrevHash = []byte{1, 2, 4} }},
		{"prev hash into action", func(e *store.AuditEvent) { e.PrevHash = []byte{1, 2}; e.Action = "\x03" + e.Action }},
		{"no prev hash", func(e *store.AuditEvent) { e.PrevHash = nil }},
		{"action", func(e *store.AuditEvent) { e.Action = "login.succeeded" }},
		{"ip", func(e *store.AuditEvent) { e.IP = "ip2" }},
		{"user agent", func(e *store.AuditEvent) { e.UserAgent = "" }},
		{"request id", func(e *store.AuditEvent) { e.RequestID = "s" }},
		{"result", func(e *store.AuditEvent) { e.Result = "success" }},
		{"reason", func(e *store.AuditEvent) { e.Reason = "why not" }},
		{"reason into result", func(e *store.AuditEvent) { e.Result, e.Reason = "failurewhy", "" }},
	}
	h := ChainHash(base)
	if len(h) != 32 {
		t.Fatalf("len(ChainHash) = %d, want 32", len(h))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.mod(&e)
			if bytes.Equal(ChainHash(e), h) {
				t.Errorf("ChainHash unchanged after changing %s", tc.name)
			}
		})
	}
	// Stable under what the store does to an event: UTC, microseconds,
	// and the stored Hash field is not an input.
	same := base
	same.Time = t0.In(time.FixedZone("x", 3600)).Add(100) // sub-microsecond noise
	same.Hash = []byte("ignored")
	if !bytes.Equal(ChainHash(same), h) {
		t.Error("ChainHash depends on the zone, nanoseconds or Hash")
	}
}
