package password

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadNice returns the nice value of the calling thread.
func threadNice(t *testing.T) int {
	t.Helper()
	// The raw getpriority syscall answers 20 - nice, so that it is never
	// negative; Go's syscall.Getpriority returns it as is.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatalf("getpriority: %v", err)
	}
	return 20 - p
}

// threadPolicy returns the scheduling policy of the calling thread.
func threadPolicy(t *testing.T) uint32 {
	t.Helper()
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatalf("sched_getattr: %v", err)
	}
	return a.Policy
}

// niceThreads returns the ids of this process's threads whose nice value
// is not 0 or whose scheduling policy is not SCHED_OTHER, read from
// /proc/self/task/*/stat (fields 19 and 41), leaving out the
// main thread: when a goroutine locked to the main thread exits, the Go
// runtime cannot end that thread and parks it for good instead (it throws
// "locked m0 woke up" if it ever runs again), so a lowered main thread runs
// nothing.
func niceThreads(t *testing.T) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	mainThread := strconv.Itoa(os.Getpid())
	var out []string
	for _, path := range stats {
		if filepath.Base(filepath.Dir(path)) == mainThread {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread has just exited
		}
		// The command name (field 2) is in parentheses and may hold spaces.
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		fields := strings.Fields(rest) // fields[0] is field 3 (state)
		if nice, err := strconv.Atoi(fields[16]); err != nil || nice != 0 || fields[38] != "0" {
			out = append(out, filepath.Base(filepath.Dir(path))+" nice "+fields[16]+" policy "+fields[38])
		}
	}
	return out
}

func TestHashingRunsAtLowestPriorityAndLeavesNoLoweredThread(t *testing.T) {
	if threadNice(t) != 0 {
		t.Skip("the test runs niced already; cannot tell the hasher's threads apart")
	}
	type sched struct {
		nice   int
		policy uint32
	}
	var seen []sched
	h := New(Config{Params: TestParams()})
	inner := h.idKey
	h.idKey = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		seen = append(seen, sched{threadNice(t), threadPolicy(t)}) // slots: one hash at a time here
		return inner(password, salt, time, memory, threads, keyLen)
	}
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, encoded, "correct horse"); !ok || err != nil {
		t.Fatalf("Verify(right password) = %v, %v", ok, err)
	}
	if ok, _, _ := h.Verify(ctx, "", "anything"); ok { // the dummy hash of an unknown user
		t.Fatal("Verify(unknown user) = true")
	}
	if len(seen) != 3 {
		t.Fatalf("hashed %d times, want 3", len(seen))
	}
	for i, got := range seen {
		if got.nice != lowPriorityNice || got.policy != unix.SCHED_IDLE {
			t.Errorf("hash %d ran at nice %d, policy %d, want nice %d, SCHED_IDLE (%d)", i, got.nice, got.policy, lowPriorityNice, unix.SCHED_IDLE)
		}
	}

	// The callers' threads keep their priority, and every lowered thread
	// ends with its hash rather than going back to the runtime's pool,
	// where it would serve requests at the lowest priority.
	runtime.LockOSThread()
	if n, p := threadNice(t), threadPolicy(t); n != 0 || p != unix.SCHED_NORMAL {
		t.Errorf("the caller's thread is at nice %d, policy %d after hashing, want 0, SCHED_NORMAL", n, p)
	}
	runtime.UnlockOSThread()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := niceThreads(t)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads still lowered after the hashes ended: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLowPriorityPanicReachesTheCaller(t *testing.T) {
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the panic of f", p)
		}
	}()
	runLowPriority(func() { panic("boom") })
	t.Fatal("runLowPriority returned after f panicked")
}
