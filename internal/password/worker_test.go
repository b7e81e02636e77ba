//go:build unix

package password

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestMain lets the test binary serve as the worker that StartWorker
// runs: started with WorkerEnv set, it hashes instead of running tests.
func TestMain(m *testing.M) {
	RunWorkerIfChild()
	os.Exit(m.Run())
}

func startTestWorker(t *testing.T, log *slog.Logger) *Worker {
	t.Helper()
	w, err := StartWorker(WorkerConfig{Path: os.Args[0], Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// processGone reports whether no process with pid exists any more (or it
// is a zombie nobody will reap, which the worker's reaper prevents).
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestWorkerHashesLikeTheProcessItself(t *testing.T) {
	w := startTestWorker(t, nil)
	remote := New(Config{Params: TestParams(), Worker: w})
	local := New(Config{Params: TestParams()})
	ctx := t.Context()

	// A hash made by the worker verifies here and the other way round:
	// the worker computes exactly argon2id.
	byWorker, err := remote.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	byLocal, err := local.Hash(ctx, "battery staple")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		h        *Hasher
		encoded  string
		password string
		want     bool
	}{
		{local, byWorker, "correct horse", true},
		{remote, byWorker, "correct horse", true},
		{remote, byWorker, "correct horsE", false},
		{remote, byLocal, "battery staple", true},
		{remote, byLocal, "", false},
	}
	for _, c := range cases {
		ok, _, err := c.h.Verify(ctx, c.encoded, c.password)
		if ok != c.want || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, want %v, nil", c.encoded, c.password, ok, err, c.want)
		}
	}

	bc, err := bcrypt.GenerateFromPassword([]byte("legacy pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := remote.Verify(ctx, string(bc), "legacy pass"); !ok || !rehash || err != nil {
		t.Errorf("Verify(bcrypt, right) = %v, %v, %v, want true, true, nil", ok, rehash, err)
	}
	if ok, _, err := remote.Verify(ctx, string(bc), "legacy pasS"); ok || err != nil {
		t.Errorf("Verify(bcrypt, wrong) = %v, %v, want false, nil", ok, err)
	}
	// An unknown user and a malformed hash cost a dummy hash in the worker.
	if ok, _, err := remote.Verify(ctx, "", "anything"); ok || err != nil {
		t.Errorf("Verify(unknown user) = %v, %v", ok, err)
	}
	if ok, _, err := remote.Verify(ctx, "$argon2id$junk", "anything"); ok || !errors.Is(err, ErrMalformedHash) {
		t.Errorf("Verify(malformed) = %v, %v, want false, ErrMalformedHash", ok, err)
	}
}

func TestWorkerRunsHashesConcurrently(t *testing.T) {
	w := startTestWorker(t, nil)
	h := New(Config{Params: TestParams(), Worker: w, MaxConcurrent: 8, MaxQueue: 64})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			pw := strings.Repeat("x", i+1)
			enc, err := h.Hash(t.Context(), pw)
			if err != nil {
				errs <- err
				return
			}
			// Answers come back out of order; each must reach its caller.
			if ok, _, err := h.Verify(t.Context(), enc, pw); !ok || err != nil {
				errs <- errors.New("a hash did not verify with its own password: answers crossed")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestWorkerRestartsAfterItDies(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedBuffer{b: &logs, mu: &mu}, nil))
	w := startTestWorker(t, log)
	// Costly enough (1 GiB of memory passes: a quarter second or more even
	// on a fast machine) that the kill lands while it runs.
	slow := New(Config{Params: Params{Memory: 64 << 10, Iterations: 16, Parallelism: 1, SaltLen: 16, KeyLen: 32}, Worker: w})
	first := w.PID()
	if first == 0 {
		t.Fatal("no worker process running")
	}
	done := make(chan error, 1)
	go func() {
		_, err := slow.Hash(context.Background(), "in flight")
		done <- err
	}()
	for slow.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the request is on its way to the worker
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("the hash in flight when the worker died: error %v, want ErrBusy", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hash in flight when the worker died never returned")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(first) {
		if time.Now().After(deadline) {
			t.Fatal("the dead worker was not reaped")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Started again at the next hash, once the restart delay has passed;
	// hashes in between are refused at once instead of waiting.
	h := New(Config{Params: TestParams(), Worker: w})
	for start := time.Now(); ; {
		_, err := h.Hash(t.Context(), "after")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrBusy) || time.Since(start) > 5*time.Second {
			t.Fatalf("Hash after the worker died: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if second := w.PID(); second == 0 || second == first {
		t.Errorf("worker pid after restart = %d, first was %d", second, first)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{"password worker stopped", "hashes_lost=1", "password worker restarted"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "in flight") {
		t.Error("the password reached the log")
	}
}

type lockedBuffer struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestWorkerStuckIsKilled: a worker that does not answer (stopped here)
// is killed after workerCallTimeout; its hash fails with ErrBusy and the
// next one gets a new worker.
func TestWorkerStuckIsKilled(t *testing.T) {
	defer func(d time.Duration) { workerCallTimeout = d }(workerCallTimeout)
	workerCallTimeout = 300 * time.Millisecond
	var logs bytes.Buffer
	var mu sync.Mutex
	w := startTestWorker(t, slog.New(slog.NewTextHandler(&lockedBuffer{b: &logs, mu: &mu}, nil)))
	h := New(Config{Params: TestParams(), Worker: w})
	pid := w.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash(t.Context(), "stuck"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash on a stopped worker: %v, want ErrBusy", err)
	}
	if !processGone(pid) {
		deadline := time.Now().Add(5 * time.Second)
		for !processGone(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !processGone(pid) {
			t.Fatal("the stuck worker was not killed")
		}
	}
	// The reaper logs why once the process is gone.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		out := logs.String()
		mu.Unlock()
		if strings.Contains(out, "a hash took too long") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log lacks the reason:\n%s", out)
		}
	}
	time.Sleep(workerRestartDelay)
	if _, err := h.Hash(t.Context(), "after"); err != nil {
		t.Fatalf("Hash after the stuck worker was replaced: %v", err)
	}
}

// TestWorkerOutlivesInterrupt: SIGINT and SIGTERM (Ctrl-C reaches the
// whole process group) leave the worker running; the parent ends it.
func TestWorkerOutlivesInterrupt(t *testing.T) {
	w := startTestWorker(t, nil)
	h := New(Config{Params: TestParams(), Worker: w})
	pid := w.PID()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // let a signal that would kill it land
	if _, err := h.Hash(t.Context(), "still here"); err != nil {
		t.Fatalf("Hash after SIGINT and SIGTERM: %v", err)
	}
	if got := w.PID(); got != pid {
		t.Errorf("worker pid %d, want %d: it died and was restarted", got, pid)
	}
}

func TestWorkerCloseStopsTheProcess(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	w := startTestWorker(t, slog.New(slog.NewTextHandler(&lockedBuffer{b: &logs, mu: &mu}, nil)))
	pid := w.PID()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Errorf("worker %d still running after Close", pid)
	}
	h := New(Config{Params: TestParams(), Worker: w})
	if _, err := h.Hash(t.Context(), "late"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash after Close: %v, want ErrBusy", err)
	}
	if w.PID() != 0 {
		t.Error("PID after Close is not 0")
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() != 0 {
		t.Errorf("a clean Close logged:\n%s", logs.String())
	}
}

func TestStartWorkerRefusesOtherPrograms(t *testing.T) {
	for _, c := range []struct {
		path string
		args []string
		want string
	}{
		{"/bin/echo", []string{"some other program says something long enough"}, "not a gatehouse password worker"},
		{"/bin/true", nil, "EOF"},
		{"/nonexistent/gatehouse", nil, "no such file"},
	} {
		w, err := StartWorker(WorkerConfig{Path: c.path, Args: c.args})
		if err == nil {
			w.Close()
			t.Errorf("StartWorker(%s) succeeded", c.path)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("StartWorker(%s) = %v, want it to mention %q", c.path, err, c.want)
		}
	}
}

func TestWorkerEnvLeavesSecretsBehind(t *testing.T) {
	got := workerEnv([]string{"PATH=/bin", "GATEHOUSE_SECRET=s3cret", "GATEHOUSE_DATABASE_URL=postgres://u:pw@h/db", "HOME=/root"})
	want := []string{"PATH=/bin", "HOME=/root", WorkerEnv + "=" + workerProtocol}
	if !slices.Equal(got, want) {
		t.Errorf("workerEnv = %q, want %q", got, want)
	}
}

// TestServeWorkerAnswersMalformedRequests drives the worker's loop over
// pipes with requests a buggy parent could send: each gets an error answer
// under its id, and the loop goes on.
func TestServeWorkerAnswersMalformedRequests(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- ServeWorker(inR, outW); outW.Close() }()
	br := newTestReader(t, outR)

	frames := [][]byte{
		binary.LittleEndian.AppendUint64(nil, 7),                                                     // no operation
		append(binary.LittleEndian.AppendUint64(nil, 8), 9),                                          // unknown operation
		append(binary.LittleEndian.AppendUint64(nil, 9), opArgon2id, 1, 2),                           // truncated
		appendBytes(append(binary.LittleEndian.AppendUint64(nil, 10), opBcrypt), []byte("$2b$99$x")), // bad bcrypt
		argonFrame(11, Params{Iterations: 0, Memory: 64, Parallelism: 1, KeyLen: 32}, make([]byte, 16), []byte("pw")),
		argonFrame(12, Params{Iterations: 1, Memory: 64, Parallelism: 1, KeyLen: 32}, make([]byte, 16), []byte("pw")),
	}
	for _, f := range frames {
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(f)))
		if _, err := inW.Write(append(b, f...)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[uint64]byte{}
	for range frames {
		id, status := br.answer()
		got[id] = status
	}
	inW.Close()
	if err := <-served; err != nil {
		t.Errorf("ServeWorker = %v after a clean end of input", err)
	}
	want := map[uint64]byte{7: statusErr, 8: statusErr, 9: statusErr, 10: statusErr, 11: statusErr, 12: statusOK}
	if len(got) != len(want) {
		t.Fatalf("answers %v, want %v", got, want)
	}
	for id, s := range want {
		if got[id] != s {
			t.Errorf("request %d answered with status %d, want %d", id, got[id], s)
		}
	}
}

func argonFrame(id uint64, p Params, salt, pw []byte) []byte {
	return appendArgon2idRequest(binary.LittleEndian.AppendUint64(nil, id), p, salt, pw)
}

type testReader struct {
	t *testing.T
	r io.Reader
}

func newTestReader(t *testing.T, r io.Reader) *testReader {
	t.Helper()
	hello := make([]byte, len(workerHello))
	if _, err := io.ReadFull(r, hello); err != nil || string(hello) != workerHello {
		t.Fatalf("hello = %q, %v", hello, err)
	}
	return &testReader{t, r}
}

func (r *testReader) answer() (uint64, byte) {
	var n [4]byte
	if _, err := io.ReadFull(r.r, n[:]); err != nil {
		r.t.Fatal(err)
	}
	b := make([]byte, binary.LittleEndian.Uint32(n[:]))
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.t.Fatal(err)
	}
	d := decoder{b: b}
	id, status := d.u64(), d.u8()
	d.bytes()
	if d.bad || len(d.b) != 0 {
		r.t.Fatalf("malformed answer %x", b)
	}
	return id, status
}

// FuzzDecodeRequest: no frame makes the worker's decoder panic, and what
// it accepts is within the bounds that hashing trusts.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(argonFrame(1, TestParams(), make([]byte, 16), []byte("pw")))
	f.Add(appendBytes(appendBytes(append(binary.LittleEndian.AppendUint64(nil, 2), opBcrypt),
		[]byte("$2b$04$abcdefghijklmnopqrstuu5J7xHC2l5k6mB3KX0kuP1Tn0xDq3c6y")), []byte("pw")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := decodeRequest(frame)
		if err != nil {
			return
		}
		switch r.op {
		case opArgon2id:
			if r.params.Validate() != nil || int(r.params.SaltLen) != len(r.salt) {
				t.Fatalf("accepted argon2id request with bad params %+v", r.params)
			}
		case opBcrypt:
			if !isBcrypt(string(r.hash)) {
				t.Fatalf("accepted bcrypt request with hash %q", r.hash)
			}
		default:
			t.Fatalf("accepted unknown operation %d", r.op)
		}
	})
}

// BenchmarkWorkerOverhead: the cost of a hash in the worker process over
// the same hash in this one, with parameters so cheap that the round trip
// is most of it.
func BenchmarkWorkerOverhead(b *testing.B) {
	w, err := StartWorker(WorkerConfig{Path: os.Args[0]})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for _, c := range []struct {
		name string
		h    *Hasher
	}{
		{"inline", New(Config{Params: TestParams()})},
		{"worker", New(Config{Params: TestParams(), Worker: w})},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.h.Hash(context.Background(), "benchmark"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
