package revocation

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/jsonerror"
	"github.com/gatehouse/gatehouse/internal/store"
)

// subscriber is one follower of a Feed's new entries.
type subscriber struct {
	ch chan []store.Revocation
}

// subscriberBuffer is how many batches a slow subscriber may fall behind
// before it is dropped (and must catch up from the store).
const subscriberBuffer = 64

// subscribe registers a follower of the entries later Syncs read.
func (f *Feed) subscribe() *subscriber {
	s := &subscriber{ch: make(chan []store.Revocation, subscriberBuffer)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = make(map[*subscriber]struct{})
	}
	f.subs[s] = struct{}{}
	return s
}

func (f *Feed) unsubscribe(s *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		close(s.ch)
	}
}

// publish hands rs to every subscriber without blocking; one whose buffer
// is full is dropped: its channel is closed and it catches up from the
// store. f.mu must be held.
func (f *Feed) publish(rs []store.Revocation) {
	for s := range f.subs {
		select {
		case s.ch <- rs:
		default:
			delete(f.subs, s)
			close(s.ch)
		}
	}
}

// Stream serves the revocation feed to remote guards as server-sent events
// (text/event-stream, WHATWG HTML §9.2):
//
//	id: 42
//	event: revocation
//	data: {"seq":42,"kind":"jti","value":"...","at":"...","expires_at":"..."}
//
// The data of a "revocation" event is a [guard.FeedEntry], the type the
// remote guard reads it into.
// A follower names where to resume with the Last-Event-ID header (sent by
// EventSource clients on reconnection) or the "after" query parameter; 0
// or none means "everything still in force". The stream first sends every
// unexpired entry after that cursor from the store, then a "ready" event
// (data {"cursor":N}), then each new entry as this server's [Feed] reads
// it, and a "heartbeat" event (data {"cursor":N}) every Heartbeat while the
// Feed is healthy. Because entries commit in Seq order (see sqlstore),
// resuming after the last id received misses nothing. Heartbeats stop when
// the Feed has not synced for StaleAfter, so a follower can tell that this
// server is itself cut off.
//
// Store and Feed are required. Authenticate, when set, decides who may
// follow: it writes the refusal itself and returns false. Heartbeat
// defaults to 5s, StaleAfter to 5s, Now to [time.Now].
type Stream struct {
	Store        store.Revocations
	Feed         *Feed
	Authenticate func(w http.ResponseWriter, r *http.Request) bool
	Heartbeat    time.Duration
	StaleAfter   time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// Done, when set, ends every open stream when it is closed (server
	// shutdown: http.Server.Shutdown does not wait out a stream by
	// itself). Followers reconnect to another replica and resume.
	Done <-chan struct{}
}

func (h *Stream) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// ServeHTTP implements http.Handler.
func (h *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Authenticate != nil && !h.Authenticate(w, r) {
		return
	}
	cursor, err := parseCursor(r)
	if err != nil {
		jsonerror.Write(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	rc := http.NewResponseController(w)
	// A stream outlives any write timeout the server has.
	_ = rc.SetWriteDeadline(time.Time{})
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	ctx := r.Context()
	sub := h.Feed.subscribe()
	defer func() { h.Feed.unsubscribe(sub) }()
	if cursor, err = h.catchUp(r, w, cursor); err != nil {
		h.log(r, err)
		return
	}
	if err := writeEvent(w, "ready", 0, map[string]int64{"cursor": cursor}); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	beat := h.Heartbeat
	if beat <= 0 {
		beat = 5 * time.Second
	}
	stale := h.StaleAfter
	if stale <= 0 {
		stale = 5 * time.Second
	}
	t := time.NewTicker(beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.Done:
			return
		case rs, ok := <-sub.ch:
			if !ok { // fell behind: catch up from the store
				sub = h.Feed.subscribe()
				if cursor, err = h.catchUp(r, w, cursor); err != nil {
					h.log(r, err)
					return
				}
				break
			}
			for _, e := range rs {
				if e.Seq <= cursor {
					continue
				}
				if err := writeEntry(w, e); err != nil {
					return
				}
				cursor = e.Seq
			}
		case <-t.C:
			if last := h.Feed.LastSync(); last.IsZero() || h.now().Sub(last) > stale {
				continue
			}
			if err := writeEvent(w, "heartbeat", 0, map[string]int64{"cursor": cursor}); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func (h *Stream) log(r *http.Request, err error) {
	if h.Logger != nil && r.Context().Err() == nil {
		h.Logger.WarnContext(r.Context(), "revocation stream ended", "err", err)
	}
}

// catchUp writes every unexpired entry after cursor from the store and
// returns the new cursor.
func (h *Stream) catchUp(r *http.Request, w http.ResponseWriter, cursor int64) (int64, error) {
	now := h.now()
	for {
		rs, err := h.Store.ListRevocations(r.Context(), cursor, now, pollBatch)
		if err != nil {
			return cursor, fmt.Errorf("revocation stream: %w", err)
		}
		for _, e := range rs {
			if err := writeEntry(w, e); err != nil {
				return cursor, err
			}
			cursor = e.Seq
		}
		if len(rs) < pollBatch {
			return cursor, nil
		}
	}
}

func parseCursor(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		// Not repeated: a header is where a pasted credential goes.
		return 0, errors.New("the cursor (Last-Event-ID or after) must be a non-negative integer")
	}
	return n, nil
}

func writeEntry(w http.ResponseWriter, e store.Revocation) error {
	return writeEvent(w, "revocation", e.Seq, feedEntry(e))
}

// writeEvent writes one event; id 0 writes no id line (so that the
// follower's last event id stays that of the last entry).
func writeEvent(w http.ResponseWriter, event string, id int64, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	var buf []byte
	if id > 0 {
		buf = append(buf, "id: "...)
		buf = strconv.AppendInt(buf, id, 10)
		buf = append(buf, '\n')
	}
	buf = append(buf, "event: "...)
	buf = append(buf, event...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	_, err = w.Write(buf)
	return err
}
