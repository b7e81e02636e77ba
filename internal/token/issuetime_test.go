package token

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestIssueTime: a token is not minted in a second in which its user's or
// client's tokens were revoked; the handler waits for the next second
// instead, never longer than maxIssueWait, and gives up with the request.
func TestIssueTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var asked []string
		tests := []struct {
			name   string
			none   bool  // no revocation set at all
			found  bool  // a cutoff is in force
			offset int64 // the cutoff's second, relative to the current one
			waits  bool
		}{
			{name: "no revocation set", none: true},
			{name: "nothing revoked"},
			{name: "revoked in an earlier second", found: true, offset: -1},
			{name: "revoked in this second: wait for the next", found: true, offset: 0, waits: true},
			{name: "a cutoff seconds ahead (clocks disagree): no wait", found: true, offset: 5},
		}
		for _, tc := range tests {
			time.Sleep(300 * time.Millisecond) // into the second, off its boundary
			now := time.Now()
			h := &Handler{}
			if !tc.none {
				h.LastCutoff = func(user, client string) (int64, bool) {
					asked = append(asked, user+"/"+client)
					return now.Unix() + tc.offset, tc.found
				}
			}
			got, err := h.issueTime(t.Context(), "user1", "client1")
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			want := now
			if tc.waits {
				want = time.Unix(now.Unix()+1, 0)
			}
			if !got.Equal(want) {
				t.Errorf("%s: issueTime = %v, want %v", tc.name, got, want)
			}
			if waited := time.Since(now); tc.waits != (waited > 0) {
				t.Errorf("%s: waited %v", tc.name, waited)
			}
		}
		if len(asked) == 0 || asked[0] != "user1/client1" {
			t.Errorf("LastCutoff asked for %q, want the user and the client", asked)
		}

		ctx, cancel := context.WithCancel(t.Context())
		h := &Handler{LastCutoff: func(string, string) (int64, bool) { return time.Now().Unix(), true }}
		go func() {
			time.Sleep(10 * time.Millisecond)
			cancel()
		}()
		if _, err := h.issueTime(ctx, "user1", ""); !errors.Is(err, context.Canceled) {
			t.Errorf("issueTime with the request gone = %v, want context.Canceled", err)
		}
	})
}
