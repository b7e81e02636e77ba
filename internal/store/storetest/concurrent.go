package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// workers is how many goroutines each race uses.
const workers = 20

// race runs fn(i) on workers goroutines released at the same moment and
// waits for them all.
func race(fn func(i int)) {
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	for i := range workers {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// RunConcurrent runs the race tests as named subtests of t. open must
// return a fresh, empty, migrated store for each subtest.
func RunConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("ConsumeAuthCode", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		c := newAuthCode(u.ID, "race")
		mustOK(t, "CreateAuthCode", s.CreateAuthCode(ctx, c))
		errs := make([]error, workers)
		recs := make([]store.AuthCode, workers)
		race(func(i int) {
			recs[i], errs[i] = s.ConsumeAuthCode(ctx, c.Hash, at(time.Duration(i+1)*time.Second))
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Errorf("ConsumeAuthCode: callers %d and %d both succeeded", winner, i)
				}
				winner = i
			case !errors.Is(err, store.ErrUsed):
				t.Errorf("ConsumeAuthCode caller %d error = %v, want nil or ErrUsed", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("ConsumeAuthCode: no caller succeeded")
		}
		wantUsed := store.Normalize(at(time.Duration(winner+1) * time.Second))
		for i, r := range recs {
			if r.UsedAt == nil || !r.UsedAt.Equal(wantUsed) {
				t.Errorf("caller %d got UsedAt %v, want the winner's %v", i, r.UsedAt, wantUsed)
			}
		}
	})

	t.Run("RotateRefreshToken", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		old := newRefreshToken(u.ID, "fam", "old")
		mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, old))
		errs := make([]error, workers)
		nexts := make([]store.RefreshToken, workers)
		for i := range nexts {
			nexts[i] = newRefreshToken(u.ID, "fam", fmt.Sprintf("next-%d", i))
		}
		race(func(i int) {
			_, errs[i] = s.RotateRefreshToken(ctx, old.Hash, nexts[i], at(time.Second))
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Errorf("RotateRefreshToken: callers %d and %d both succeeded", winner, i)
				}
				winner = i
			case !errors.Is(err, store.ErrUsed):
				t.Errorf("RotateRefreshToken caller %d error = %v, want nil or ErrUsed", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("RotateRefreshToken: no caller succeeded")
		}
		// Exactly one successor exists, and the old link points at it.
		for i, n := range nexts {
			_, err := s.GetRefreshToken(ctx, n.Hash)
			if i == winner {
				mustOK(t, "GetRefreshToken(winner's successor)", err)
			} else {
				wantErr(t, fmt.Sprintf("GetRefreshToken(loser %d's successor)", i), err, store.ErrNotFound)
			}
		}
		got, err := s.GetRefreshToken(ctx, old.Hash)
		mustOK(t, "GetRefreshToken(old)", err)
		diff(t, "old SuccessorHash", nexts[winner].Hash, got.SuccessorHash)
	})

	t.Run("RotateVersusRevoke", func(t *testing.T) {
		// A family (or a user's tokens) revoked while a link is being
		// rotated must end up with every link revoked: the successor may
		// not escape. Each family has its own user; even families are
		// revoked by family, odd ones by user.
		s := open(t)
		ctx := t.Context()
		const families = workers / 2
		users := make([]store.User, families)
		for f := range families {
			users[f] = mustCreateUser(t, s, fmt.Sprint("user", f))
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, newRefreshToken(users[f].ID, fmt.Sprint("fam", f), fmt.Sprint("f", f, "-0"))))
		}
		errs := make([]error, workers)
		race(func(i int) {
			f := i / 2
			family := fmt.Sprint("fam", f)
			switch {
			case i%2 == 0:
				next := newRefreshToken(users[f].ID, family, fmt.Sprint("f", f, "-1"))
				_, errs[i] = s.RotateRefreshToken(ctx, hashOf(fmt.Sprint("refresh-f", f, "-0")), next, at(time.Second))
				if errors.Is(errs[i], store.ErrUsed) {
					errs[i] = nil // the revocation came first
				}
			case f%2 == 0:
				_, errs[i] = s.RevokeRefreshFamily(ctx, family, at(time.Second))
			default:
				_, errs[i] = s.RevokeRefreshTokens(ctx, users[f].ID, "", at(time.Second))
			}
		})
		for i, err := range errs {
			mustOK(t, fmt.Sprintf("caller %d", i), err)
		}
		for f := range families {
			for _, label := range []string{"-0", "-1"} {
				rt, err := s.GetRefreshToken(ctx, hashOf(fmt.Sprint("refresh-f", f, label)))
				if errors.Is(err, store.ErrNotFound) && label == "-1" {
					continue // the rotation lost to the revocation
				}
				mustOK(t, "GetRefreshToken", err)
				if rt.RevokedAt == nil {
					t.Errorf("family %d link %s not revoked after the revocation", f, label)
				}
			}
		}
	})

	t.Run("AppendAudit", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		errs := make([]error, workers)
		race(func(i int) {
			_, errs[i] = s.AppendAudit(ctx, store.AuditEvent{
				Time: at(time.Duration(i) * time.Millisecond), Action: "race.append", Actor: fmt.Sprint(i), Result: "success",
			}, auditHash)
		})
		for i, err := range errs {
			mustOK(t, fmt.Sprintf("AppendAudit caller %d", i), err)
		}
		got, err := s.ListAudit(ctx, store.AuditFilter{})
		mustOK(t, "ListAudit", err)
		if len(got) != workers {
			t.Fatalf("ListAudit: %d events, want %d", len(got), workers)
		}
		if got[0].PrevHash != nil {
			t.Errorf("first event PrevHash = %x, want nil", got[0].PrevHash)
		}
		checkChain(t, got)
		actors := map[string]bool{}
		for _, e := range got {
			actors[e.Actor] = true
		}
		if len(actors) != workers {
			t.Errorf("ListAudit: %d distinct actors, want %d (an append was lost or duplicated)", len(actors), workers)
		}
	})

	t.Run("UpdateUser", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		errs := make([]error, workers)
		race(func(i int) {
			_, errs[i] = s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
				old.Scopes = append(old.Scopes, fmt.Sprintf("s%02d", i))
				return old, nil
			})
		})
		for i, err := range errs {
			mustOK(t, fmt.Sprintf("UpdateUser caller %d", i), err)
		}
		got, err := s.GetUser(ctx, u.ID)
		mustOK(t, "GetUser", err)
		want := slices.Clone(u.Scopes)
		for i := range workers {
			want = append(want, fmt.Sprintf("s%02d", i))
		}
		slices.Sort(want)
		gotScopes := slices.Clone(got.Scopes)
		slices.Sort(gotScopes)
		diff(t, "scopes after concurrent updates (no lost update)", want, gotScopes)
	})

	t.Run("UpdateAPIKey", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		k := newAPIKey(u.ID)
		k.Scopes = nil
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
		errs := make([]error, workers)
		race(func(i int) {
			_, errs[i] = s.UpdateAPIKey(ctx, k.ID, func(old store.APIKey) (store.APIKey, error) {
				old.Scopes = append(old.Scopes, fmt.Sprintf("s%02d", i))
				return old, nil
			})
		})
		for i, err := range errs {
			mustOK(t, fmt.Sprintf("UpdateAPIKey caller %d", i), err)
		}
		got, err := s.GetAPIKey(ctx, k.ID)
		mustOK(t, "GetAPIKey", err)
		if len(got.Scopes) != workers {
			t.Errorf("scopes after %d concurrent updates = %v, want %d (no lost update)", workers, got.Scopes, workers)
		}
	})

	t.Run("TouchAPIKeys", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		a, b := newAPIKey(u.ID), newAPIKey(u.ID)
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx, a))
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx, b))
		errs := make([]error, workers)
		race(func(i int) {
			// Batches touch both keys, in map order, with times that do not
			// arrive in order: the latest must win.
			errs[i] = s.TouchAPIKeys(ctx, map[string]time.Time{
				a.ID: at(time.Duration(i) * time.Second),
				b.ID: at(time.Duration(workers-i) * time.Second),
			})
		})
		for i, err := range errs {
			mustOK(t, fmt.Sprintf("TouchAPIKeys caller %d", i), err)
		}
		for _, tc := range []struct {
			id   string
			want time.Time
		}{{a.ID, at((workers - 1) * time.Second)}, {b.ID, at(workers * time.Second)}} {
			got, err := s.GetAPIKey(ctx, tc.id)
			mustOK(t, "GetAPIKey", err)
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(store.Normalize(tc.want)) {
				t.Errorf("LastUsedAt = %v, want the latest %v", got.LastUsedAt, store.Normalize(tc.want))
			}
		}
	})

	t.Run("AddRevocation", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		errs := make([]error, workers)
		seqs := make([]int64, workers)
		race(func(i int) {
			r, err := s.AddRevocation(ctx, store.Revocation{
				Kind: guard.RevokeToken, Value: fmt.Sprint(i), At: at(0), ExpiresAt: at(time.Hour), CreatedAt: at(0),
			})
			seqs[i], errs[i] = r.Seq, err
		})
		for i, err := range errs {
			mustOK(t, fmt.Sprintf("AddRevocation caller %d", i), err)
		}
		got, err := s.ListRevocations(ctx, 0, at(0), 0)
		mustOK(t, "ListRevocations", err)
		var listed []int64
		for _, r := range got {
			listed = append(listed, r.Seq)
		}
		slices.Sort(seqs)
		diff(t, "ListRevocations seqs (in order, none lost)", seqs, listed)
		if len(slices.Compact(slices.Clone(seqs))) != workers {
			t.Errorf("AddRevocation returned duplicate Seq values: %v", seqs)
		}
	})

	t.Run("RevocationFollower", func(t *testing.T) { testFeedFollower(t, open(t)) })
}

// testFeedFollower checks the property a revocation follower relies on:
// polling "Seq > cursor" while entries are being added never skips one,
// so once the adders are done the follower has seen every entry.
func testFeedFollower(t *testing.T, s store.Store) {
	ctx := t.Context()
	done := make(chan struct{})
	var (
		seen   []int64
		cursor int64
		ferr   error
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for final := false; ; {
			select {
			case <-done:
				final = true // one last read after every add has returned
			default:
			}
			rs, err := s.ListRevocations(ctx, cursor, at(0), 0)
			if err != nil {
				ferr = err
				return
			}
			for _, r := range rs {
				seen = append(seen, r.Seq)
				cursor = r.Seq
			}
			if final {
				return
			}
		}
	})
	errs := make([]error, workers)
	race(func(i int) {
		_, errs[i] = s.AddRevocation(ctx, store.Revocation{
			Kind: guard.RevokeToken, Value: fmt.Sprint(i), At: at(0), ExpiresAt: at(time.Hour), CreatedAt: at(0),
		})
	})
	close(done)
	wg.Wait()
	for i, err := range errs {
		mustOK(t, fmt.Sprintf("AddRevocation caller %d", i), err)
	}
	mustOK(t, "ListRevocations (follower)", ferr)
	if len(seen) != workers {
		t.Errorf("follower saw %d entries %v, want %d: an entry committed behind the cursor", len(seen), seen, workers)
	}
}
