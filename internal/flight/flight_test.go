package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string]
		var calls atomic.Int64
		gate := make(chan struct{})
		fetch := func(context.Context) (string, error) {
			calls.Add(1)
			<-gate
			return "answer", nil
		}
		const n = 50
		var wg sync.WaitGroup
		got := make([]string, n)
		for i := range n {
			wg.Go(func() {
				v, err := g.Do(t.Context(), "k", fetch)
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
				got[i] = v
			})
		}
		synctest.Wait() // every caller is waiting on the one fetch
		close(gate)
		wg.Wait()
		if c := calls.Load(); c != 1 {
			t.Errorf("fetch ran %d times for %d concurrent callers, want 1", c, n)
		}
		for i, v := range got {
			if v != "answer" {
				t.Fatalf("caller %d got %q", i, v)
			}
		}
		// Once it has returned, the next call fetches again: nothing is
		// cached here (gate is closed, so this fetch returns at once).
		if _, err := g.Do(t.Context(), "k", fetch); err != nil || calls.Load() != 2 {
			t.Errorf("a later call: err %v, %d fetches, want a second fetch", err, calls.Load())
		}
	})
}

func TestOtherKeysDoNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[int]
		gate := make(chan struct{})
		go g.Do(t.Context(), "slow", func(context.Context) (int, error) { <-gate; return 1, nil })
		synctest.Wait()
		if v, err := g.Do(t.Context(), "other", func(context.Context) (int, error) { return 2, nil }); v != 2 || err != nil {
			t.Errorf("Do(other) = %d, %v while another key is fetched", v, err)
		}
		close(gate)
	})
}

func TestACallerGivingUpDoesNotCancelTheFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string]
		gate := make(chan struct{})
		var fetchErr error
		fetch := func(ctx context.Context) (string, error) {
			<-gate
			fetchErr = ctx.Err()
			return "answer", nil
		}
		leaderCtx, cancel := context.WithCancel(t.Context())
		leader := make(chan error, 1)
		go func() {
			_, err := g.Do(leaderCtx, "k", fetch)
			leader <- err
		}()
		synctest.Wait()
		waiter := make(chan string, 1)
		go func() {
			v, _ := g.Do(t.Context(), "k", fetch)
			waiter <- v
		}()
		synctest.Wait()
		cancel() // the caller that started the fetch goes away
		if err := <-leader; !errors.Is(err, context.Canceled) {
			t.Errorf("the leader got %v, want context.Canceled", err)
		}
		close(gate)
		if v := <-waiter; v != "answer" {
			t.Errorf("the waiter got %q, want the shared answer", v)
		}
		if fetchErr != nil {
			t.Errorf("the fetch's context ended with its first caller: %v", fetchErr)
		}
	})
}

func TestErrorsAreShared(t *testing.T) {
	var g Group[string]
	boom := errors.New("database down")
	if _, err := g.Do(t.Context(), "k", func(context.Context) (string, error) { return "", boom }); err != boom {
		t.Errorf("Do = %v, want the fetch's error", err)
	}
}

func TestKeySeparatesGenerations(t *testing.T) {
	if Key(1, "a") == Key(2, "a") || Key(1, "a") == Key(1, "b") || Key(1, "1a") == Key(11, "a") {
		t.Error("Key collides across generations or ids")
	}
}
