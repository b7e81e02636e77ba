package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ChainHash returns the hash that links e into the audit chain:
//
//	Hash = SHA-256( field(PrevHash) || u64(Seq) || field(Time) ||
//	                field(Action) || field(Actor) || field(Target) || field(IP) ||
//	                field(UserAgent) || field(RequestID) || field(Result) || field(Reason) )
//
// where u64(x) is x as 8 bytes big-endian, field(b) is u64(len(b)) || b,
// and Time is store.Normalize(e.Time) formatted as RFC 3339 with
// nanoseconds in UTC ([time.RFC3339Nano]). The length prefixes make the
// encoding injective: no two different events encode to the same bytes,
// e.g. Actor "a", Target "bc" and Actor "ab", Target "c" differ. e.Hash is
// ignored.
//
// It is the hash function passed to [store.AuditLog.AppendAudit], which
// calls it with Seq and PrevHash already assigned.
func ChainHash(e store.AuditEvent) []byte {
	h := sha256.New()
	writeField(h, e.PrevHash)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	for _, s := range [...]string{
		store.Normalize(e.Time).UTC().Format(time.RFC3339Nano),
		e.Action, e.Actor, e.Target, e.IP, e.UserAgent, e.RequestID, e.Result, e.Reason,
	} {
		writeField(h, []byte(s))
	}
	return h.Sum(nil)
}

func writeField(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// Problem says how the chain is broken.
type Problem string

// Problems reported by [Verify].
const (
	// ProblemEdited: the event's stored hash does not match its contents
	// (a field, its Seq or its PrevHash was changed after it was written),
	// or its successor links to a different version of it.
	ProblemEdited Problem = "edited"
	// ProblemDeleted: the event is intact but the event it links to is
	// missing, and no audit.pruned anchor accounts for it.
	ProblemDeleted Problem = "deleted before"
	// ProblemReordered: the event is intact but sits at the wrong place:
	// it was written with another Seq, or it links to an earlier event
	// than the one before it.
	ProblemReordered Problem = "reordered"
	// ProblemTailDeleted: the newest events, up to the chain head the
	// store keeps, are missing (or every event is).
	ProblemTailDeleted Problem = "newest deleted"
	// ProblemInserted: the event lies past the chain head: it was added
	// around the store, not appended through it.
	ProblemInserted Problem = "inserted"
)

// Report is the result of [Verify].
type Report struct {
	OK       bool  `json:"ok"`        // the whole chain verified
	Events   int64 `json:"events"`    // events checked
	FirstSeq int64 `json:"first_seq"` // Seq of the oldest event, 0 for an empty log
	LastSeq  int64 `json:"last_seq"`  // Seq of the newest event checked
	HeadSeq  int64 `json:"head_seq"`  // Seq of the stored chain head the walk was checked against (read before it)
	// Anchored is true when the oldest event continues a pruned prefix
	// (its PrevHash is the anchor of an audit.pruned event).
	Anchored bool `json:"anchored"`
	// BrokenSeq is the Seq of the first event found broken; Problem says
	// why and Detail gives the evidence. All zero when OK.
	BrokenSeq int64   `json:"broken_seq,omitempty"`
	Problem   Problem `json:"problem,omitempty"`
	Detail    string  `json:"detail,omitempty"`
}

// String summarises the report in one line, with the number of events
// checked.
func (r Report) String() string {
	switch {
	case !r.OK:
		return fmt.Sprintf("audit chain broken at seq %d: %s (%s); %d events checked", r.BrokenSeq, r.Problem, r.Detail, r.Events)
	case r.Events == 0:
		return "audit chain ok: 0 events checked (the log is empty and was never written)"
	}
	return fmt.Sprintf("audit chain ok: %d events checked, seq %d..%d, matching the stored chain head (seq %d)", r.Events, r.FirstSeq, r.LastSeq, r.HeadSeq)
}

const (
	pageSize = 1000
	// reorderWindow bounds how far Verify looks, around a broken event,
	// for the Seq it was originally written with, and how many recent
	// hashes it remembers to recognise a link to an earlier event.
	reorderWindow = 1024
)

// Verify walks every event of log in Seq order and checks the hash chain.
// It returns an error only when the store fails; a broken chain is a
// Report with OK false, naming the first broken Seq.
//
// The rules, checked in this order for each event e:
//
//  1. e.Hash must equal [ChainHash](e). Otherwise e was edited, or, when
//     e hashes correctly under another Seq, reordered.
//  2. For the oldest remaining event: an empty PrevHash means the log
//     starts at its first event ever; otherwise PrevHash must equal the
//     anchor (the Hash of the last pruned event) recorded by some
//     audit.pruned event still in the log, else events before it were
//     deleted. Any remaining audit.pruned anchor is accepted, not only the
//     latest, because [Prune] records its event before deleting, so a
//     prune interrupted between the two leaves an unused anchor behind.
//  3. For every later event: PrevHash must equal the Hash of the event
//     before it. Otherwise, if PrevHash is the hash of a recent earlier
//     event, e was reordered; if Seq values are missing between the two,
//     events were deleted before e; else the previous event was rewritten
//     (edited and re-hashed), and that previous Seq is reported as edited.
//
// Then the walk is checked against the chain head the store keeps
// ([store.AuditLog.GetAuditHead]), read before the walk and again after
// it, so that events appended meanwhile are neither missed nor mistaken:
//
//  4. The event at the head's Seq (as read before the walk) must have been
//     walked, with the head's Hash. If the walk ended before it, the
//     newest events were deleted (reported at the first missing Seq, or
//     at the head's Seq when no event is left); if its hash differs, it
//     was rewritten.
//  5. No walked event may lie past the head as read after the walk: such
//     an event was added around the store, not appended through it.
//
// A hash chain without a secret cannot detect an attacker who rewrites
// every hash after the point of change and the head with them; ship the
// log (the slog lines) elsewhere for that.
func Verify(ctx context.Context, log store.AuditLog) (Report, error) {
	before, err := log.GetAuditHead(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("verify audit chain: %w", err)
	}
	anchors, err := pruneAnchors(ctx, log)
	if err != nil {
		return Report{}, err
	}
	var (
		rep    Report
		prev   store.AuditEvent
		recent = newRecentHashes(reorderWindow)
		after  int64
		atHead []byte // Hash of the walked event at before.Seq
	)
	rep.HeadSeq = before.Seq
	for {
		page, err := log.ListAudit(ctx, store.AuditFilter{AfterSeq: after, Limit: pageSize})
		if err != nil {
			return Report{}, fmt.Errorf("verify audit chain: %w", err)
		}
		for _, e := range page {
			if problem, seq, detail := check(e, prev, rep.Events == 0, anchors, recent); problem != "" {
				rep.BrokenSeq, rep.Problem, rep.Detail = seq, problem, detail
				return rep, nil
			}
			if rep.Events == 0 {
				rep.FirstSeq = e.Seq
				rep.Anchored = len(e.PrevHash) > 0
			}
			if e.Seq == before.Seq {
				atHead = e.Hash
			}
			rep.Events++
			rep.LastSeq = e.Seq
			recent.add(e.Hash, e.Seq)
			prev = e
		}
		if len(page) < pageSize {
			break
		}
		after = page[len(page)-1].Seq
	}
	if problem, seq, detail := checkHead(rep, before, atHead); problem != "" {
		rep.BrokenSeq, rep.Problem, rep.Detail = seq, problem, detail
		return rep, nil
	}
	now, err := log.GetAuditHead(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("verify audit chain: %w", err)
	}
	if rep.LastSeq > now.Seq {
		rep.BrokenSeq, rep.Problem = now.Seq+1, ProblemInserted
		rep.Detail = fmt.Sprintf("seq %d..%d lie past the chain head (seq %d): they were not appended through the store", now.Seq+1, rep.LastSeq, now.Seq)
		return rep, nil
	}
	rep.OK = true
	return rep, nil
}

// checkHead applies rule 4 of Verify to a walk that found no other
// problem: head is the chain head read before the walk and atHead the
// Hash of the walked event with the head's Seq (nil if none was walked).
func checkHead(rep Report, head store.AuditHead, atHead []byte) (Problem, int64, string) {
	switch {
	case head.Seq == 0:
		return "", 0, ""
	case rep.Events == 0:
		return ProblemTailDeleted, head.Seq, fmt.Sprintf("no event is stored, but the chain head is seq %d: every event was deleted", head.Seq)
	case rep.LastSeq < head.Seq:
		return ProblemTailDeleted, rep.LastSeq + 1, fmt.Sprintf("seq %d..%d missing: the chain head is seq %d, the newest stored event seq %d", rep.LastSeq+1, head.Seq, head.Seq, rep.LastSeq)
	case atHead == nil:
		// The walk passed the head's Seq without an event there; rule
		// 3 reports such a gap, so this is only reached if Seq values
		// were renumbered around it.
		return ProblemTailDeleted, head.Seq, fmt.Sprintf("the chain head is seq %d, which is not stored", head.Seq)
	case !bytes.Equal(atHead, head.Hash):
		return ProblemEdited, head.Seq, fmt.Sprintf("the chain head records hash %s for seq %d, the stored event hashes to %s: it was rewritten", short(head.Hash), head.Seq, short(atHead))
	}
	return "", 0, ""
}

// check applies the rules of Verify to e, whose predecessor in the walk is
// prev (unless first). It returns the problem, the broken Seq and a detail,
// or an empty problem.
func check(e, prev store.AuditEvent, first bool, anchors map[string]int64, recent *recentHashes) (Problem, int64, string) {
	if !bytes.Equal(ChainHash(e), e.Hash) {
		if s, ok := writtenAs(e); ok {
			return ProblemReordered, e.Seq, fmt.Sprintf("event at seq %d was written as seq %d", e.Seq, s)
		}
		return ProblemEdited, e.Seq, "stored hash does not match the event's contents"
	}
	if first {
		if len(e.PrevHash) == 0 {
			return "", 0, ""
		}
		if _, ok := anchors[string(e.PrevHash)]; ok {
			return "", 0, ""
		}
		return ProblemDeleted, e.Seq, fmt.Sprintf("oldest event links to %s, which is neither the chain start nor an audit.pruned anchor", short(e.PrevHash))
	}
	if bytes.Equal(e.PrevHash, prev.Hash) {
		return "", 0, ""
	}
	if s, ok := recent.seq(e.PrevHash); ok {
		return ProblemReordered, e.Seq, fmt.Sprintf("event links to seq %d, not to its predecessor seq %d", s, prev.Seq)
	}
	if e.Seq > prev.Seq+1 {
		return ProblemDeleted, e.Seq, fmt.Sprintf("seq %d..%d missing and the event links to %s, not to seq %d", prev.Seq+1, e.Seq-1, short(e.PrevHash), prev.Seq)
	}
	return ProblemEdited, prev.Seq, fmt.Sprintf("seq %d links to %s, not to this event's hash %s: this event was rewritten", e.Seq, short(e.PrevHash), short(prev.Hash))
}

// writtenAs reports whether e, with its stored hash, was originally
// written under another Seq near its current one.
func writtenAs(e store.AuditEvent) (int64, bool) {
	orig := e.Seq
	for d := int64(1); d <= reorderWindow; d++ {
		for _, s := range [2]int64{orig - d, orig + d} {
			if s <= 0 {
				continue
			}
			e.Seq = s
			if bytes.Equal(ChainHash(e), e.Hash) {
				return s, true
			}
		}
	}
	return 0, false
}

func short(h []byte) string {
	if len(h) == 0 {
		return "nothing"
	}
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

// recentHashes remembers the hashes of the last n events walked.
type recentHashes struct {
	ring  [][]byte
	next  int
	bySum map[string]int64
}

func newRecentHashes(n int) *recentHashes {
	return &recentHashes{ring: make([][]byte, n), bySum: make(map[string]int64, n)}
}

func (r *recentHashes) add(h []byte, seq int64) {
	if old := r.ring[r.next]; old != nil {
		delete(r.bySum, string(old))
	}
	r.ring[r.next] = h
	r.next = (r.next + 1) % len(r.ring)
	r.bySum[string(h)] = seq
}

func (r *recentHashes) seq(h []byte) (int64, bool) {
	s, ok := r.bySum[string(h)]
	return s, ok
}

// The Reason of an audit.pruned event is a list of key=value pairs:
//
//	anchor_seq=<Seq of the last pruned event> anchor=<its Hash, hex>
//	before=<cut-off, RFC 3339> count=<events pruned>
//
// and its Target is "audit".
const (
	anchorKey    = "anchor="
	anchorSeqKey = "anchor_seq="
)

// pruneAnchors returns the anchors of every audit.pruned event in log,
// keyed by the raw anchor hash.
func pruneAnchors(ctx context.Context, log store.AuditLog) (map[string]int64, error) {
	anchors := make(map[string]int64)
	var after int64
	for {
		page, err := log.ListAudit(ctx, store.AuditFilter{Action: string(AuditPruned), AfterSeq: after, Limit: pageSize})
		if err != nil {
			return nil, fmt.Errorf("list audit prune anchors: %w", err)
		}
		for _, e := range page {
			if h, seq, ok := parseAnchor(e.Reason); ok {
				anchors[string(h)] = seq
			}
		}
		if len(page) < pageSize {
			return anchors, nil
		}
		after = page[len(page)-1].Seq
	}
}

func parseAnchor(reason string) (hash []byte, seq int64, ok bool) {
	for f := range strings.FieldsSeq(reason) {
		if v, found := strings.CutPrefix(f, anchorKey); found {
			h, err := hex.DecodeString(v)
			if err != nil || len(h) == 0 {
				return nil, 0, false
			}
			hash = h
		} else if v, found := strings.CutPrefix(f, anchorSeqKey); found {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, 0, false
			}
			seq = n
		}
	}
	return hash, seq, hash != nil
}

// Prune deletes the audit events older than before, keeping the chain
// verifiable, and returns how many it deleted. before is clamped to the
// recorder's clock: the future cannot be pruned.
//
// Deleting must remove a prefix of the chain (events 1..k in Seq order),
// never a hole in the middle, or [Verify] would report a deletion. Times of
// events written by different replicas can be slightly out of Seq order,
// so Prune first finds the cut-off t <= before for which "Time < t" is
// exactly such a prefix. It then records an audit.pruned event whose
// Reason carries the anchor, the Seq and Hash of event k (see the format
// above), and only then asks the store to delete events with Time < t.
// Recording first means an interrupted prune leaves an extra anchor, which
// Verify tolerates, rather than a pruned log without one. Nothing to prune
// gives 0 and records nothing.
//
// Call it with before well in the past (retention is days): an event
// written during the prune with a clock skewed before the cut-off would
// also be deleted, which Verify would then report.
func Prune(ctx context.Context, rec *Recorder, before time.Time) (int64, error) {
	if rec == nil || rec.Store == nil {
		return 0, fmt.Errorf("prune audit log: no store")
	}
	log := rec.Store
	if now := store.Normalize(rec.now()); before.After(now) {
		before = now
	}
	cut := store.Normalize(before)
	var k prefix
	for {
		var err error
		k, err = scanPrefix(ctx, log, cut)
		if err != nil {
			return 0, err
		}
		if k.stop == 0 {
			break // every event is older than cut
		}
		straggler, found, err := earliestAfter(ctx, log, k.stop, cut)
		if err != nil {
			return 0, err
		}
		if !found {
			break
		}
		// An event after the prefix is older than the cut-off: cut
		// before it instead; the prefix can only shrink.
		cut = straggler
	}
	if k.count == 0 {
		return 0, nil
	}
	reason := fmt.Sprintf("%s%d %s%s before=%s count=%d",
		anchorSeqKey, k.seq, anchorKey, hex.EncodeToString(k.hash), cut.Format(time.RFC3339Nano), k.count)
	if err := rec.Append(ctx, Event{Action: AuditPruned, Target: "audit", Result: ResultSuccess, Reason: reason}); err != nil {
		return 0, fmt.Errorf("prune audit log: %w", err)
	}
	n, err := log.PruneAudit(ctx, cut)
	if err != nil {
		return 0, fmt.Errorf("prune audit log: %w", err)
	}
	return n, nil
}

// prefix describes the run of events, from the oldest in Seq order, whose
// Time is before a cut-off.
type prefix struct {
	count int64
	seq   int64  // Seq of its last event
	hash  []byte // Hash of its last event
	stop  int64  // Seq of the first event not before the cut-off; 0 if none
}

func scanPrefix(ctx context.Context, log store.AuditLog, cut time.Time) (prefix, error) {
	var (
		p     prefix
		after int64
	)
	for {
		page, err := log.ListAudit(ctx, store.AuditFilter{AfterSeq: after, Limit: pageSize})
		if err != nil {
			return prefix{}, fmt.Errorf("prune audit log: %w", err)
		}
		for _, e := range page {
			if !e.Time.Before(cut) {
				p.stop = e.Seq
				return p, nil
			}
			p.count++
			p.seq, p.hash = e.Seq, e.Hash
		}
		if len(page) < pageSize {
			return p, nil
		}
		after = page[len(page)-1].Seq
	}
}

// earliestAfter returns the earliest Time before cut among events with Seq
// > after.
func earliestAfter(ctx context.Context, log store.AuditLog, after int64, cut time.Time) (time.Time, bool, error) {
	var (
		min   time.Time
		found bool
	)
	for {
		page, err := log.ListAudit(ctx, store.AuditFilter{AfterSeq: after, Until: cut, Limit: pageSize})
		if err != nil {
			return time.Time{}, false, fmt.Errorf("prune audit log: %w", err)
		}
		for _, e := range page {
			if e.Time.Before(cut) && (!found || e.Time.Before(min)) {
				min, found = e.Time, true
			}
		}
		if len(page) < pageSize {
			return min, found, nil
		}
		after = page[len(page)-1].Seq
	}
}
