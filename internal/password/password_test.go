package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hashes made by libxcrypt (Python's crypt module), not by x/crypto: the
// interop vectors for bcrypt hashes imported from passlib-based systems.
const (
	xcryptPassword = "correct horse battery staple"
	xcrypt2b       = "$2b$05$abcdefghijklmnopqrstuuFiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS"
	xcrypt2y       = "$2y$05$abcdefghijklmnopqrstuuFiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS"
	xcrypt2a       = "$2a$05$abcdefghijklmnopqrstuuFiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS"
	// bcrypt of 72 × "a" (libxcrypt gives the same for 80 × "a").
	xcrypt72a = "$2b$04$Zz9Yy8Xx7Ww6Vv5Uu4Tt3OSC13dBCyxKoL0U0CPP.TQa48uY4pQ0W"
	// bcrypt of "pässwörd" (UTF-8).
	xcryptUTF8 = "$2b$04$Zz9Yy8Xx7Ww6Vv5Uu4Tt3OSbe.Lft2LyE1a3b1kujmcTxIYGQdh4m"
)

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

// hashCall records one argon2 computation.
type hashCall struct {
	Iterations, Memory uint32
	Parallelism        uint8
	KeyLen             uint32
}

// counting wraps h's argon2 so a test can see every hash it computes.
type counting struct {
	mu    sync.Mutex
	calls []hashCall
}

func (c *counting) install(h *Hasher) {
	h.idKey = func(pw, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
		c.mu.Lock()
		c.calls = append(c.calls, hashCall{t, m, p, keyLen})
		c.mu.Unlock()
		return argon2.IDKey(pw, salt, t, m, p, keyLen)
	}
}

func (c *counting) get() []hashCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]hashCall(nil), c.calls...)
}

func newTestHasher(t testing.TB, mod func(*Config)) *Hasher {
	t.Helper()
	cfg := Config{Params: TestParams(), MaxConcurrent: 2}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg)
}

func mustHash(t testing.TB, h *Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(t.Context(), pw)
	if err != nil {
		t.Fatalf("Hash(%q) error = %v", pw, err)
	}
	return enc
}

func TestHashVerify(t *testing.T) {
	h := newTestHasher(t, nil)
	enc := mustHash(t, h, "hunter2hunter2")
	if !phcPattern.MatchString(enc) {
		t.Fatalf("Hash() = %q, not an argon2id PHC string with TestParams", enc)
	}
	if again := mustHash(t, h, "hunter2hunter2"); again == enc {
		t.Errorf("Hash() twice gave the same string %q: salt not random", enc)
	}
	p, salt, key, err := ParsePHC(enc)
	if err != nil {
		t.Fatalf("ParsePHC(%q) error = %v", enc, err)
	}
	if diff := cmp.Diff(TestParams(), p); diff != "" {
		t.Errorf("ParsePHC(Hash()) params mismatch (-want +got):\n%s", diff)
	}
	if len(salt) != 16 || len(key) != 32 {
		t.Errorf("ParsePHC(Hash()) salt %d bytes, key %d bytes, want 16 and 32", len(salt), len(key))
	}

	tests := []struct {
		name   string
		pw     string
		wantOK bool
	}{
		{"right", "hunter2hunter2", true},
		{"wrong", "hunter2hunter3", false},
		{"prefix", "hunter2hunter", false},
		{"empty", "", false},
		{"case", "Hunter2hunter2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), enc, tc.pw)
			if ok != tc.wantOK || rehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want %v, false, nil", tc.pw, ok, rehash, err, tc.wantOK)
			}
		})
	}
}

func TestVerifyUnicodeUnnormalised(t *testing.T) {
	h := newTestHasher(t, nil)
	composed, decomposed := "caf\u00e9-caf\u00e9", "cafe\u0301-cafe\u0301"
	enc := mustHash(t, h, composed)
	if ok, _, _ := h.Verify(t.Context(), enc, decomposed); ok {
		t.Error("Verify matched a differently normalised password; passwords must be compared as bytes")
	}
	if ok, _, _ := h.Verify(t.Context(), enc, composed); !ok {
		t.Error("Verify(composed) = false, want true")
	}
}

func TestVerifyBcrypt(t *testing.T) {
	h := newTestHasher(t, nil)
	made, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	xc := string(made) // x/crypto writes $2a$
	tests := []struct {
		name    string
		encoded string
		pw      string
		wantOK  bool
	}{
		{"x/crypto right", xc, "s3cret-pass", true},
		{"x/crypto wrong", xc, "s3cret-pasS", false},
		{"x/crypto as 2b", "$2b$" + xc[4:], "s3cret-pass", true},
		{"x/crypto as 2y", "$2y$" + xc[4:], "s3cret-pass", true},
		{"libxcrypt 2b", xcrypt2b, xcryptPassword, true},
		{"libxcrypt 2y", xcrypt2y, xcryptPassword, true},
		{"libxcrypt 2a", xcrypt2a, xcryptPassword, true},
		{"libxcrypt wrong", xcrypt2b, xcryptPassword + " ", false},
		{"classic openwall vector", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", true},
		{"UTF-8", xcryptUTF8, "pässwörd", true},
		{"UTF-8 decomposed", xcryptUTF8, "pa\u0308sswo\u0308rd", false},
		{"72 bytes", xcrypt72a, strings.Repeat("a", 72), true},
		{"bytes after 72 ignored as passlib does", xcrypt72a, strings.Repeat("a", 80), true},
		{"71 bytes", xcrypt72a, strings.Repeat("a", 71), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tc.encoded, tc.pw)
			if err != nil || ok != tc.wantOK || rehash != tc.wantOK {
				t.Errorf("Verify(%q, %q) = %v, %v, %v, want %v, %v, nil", tc.encoded, tc.pw, ok, rehash, err, tc.wantOK, tc.wantOK)
			}
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	base := TestParams()
	base.Iterations = 2
	with := func(f func(*Params)) Params {
		p := base
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		stored Params
		want   bool
	}{
		{"same", base, false},
		{"less memory", with(func(p *Params) { p.Memory = 32 }), true},
		{"fewer iterations", with(func(p *Params) { p.Iterations = 1; p.Memory = 128 }), true},
		{"shorter salt", with(func(p *Params) { p.SaltLen = 8 }), true},
		{"shorter key", with(func(p *Params) { p.KeyLen = 16 }), true},
		{"more memory", with(func(p *Params) { p.Memory = 128 }), false},
		{"more lanes", with(func(p *Params) { p.Parallelism = 2 }), false},
	}
	verifier := New(Config{Params: base, MaxConcurrent: 1})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := mustHash(t, New(Config{Params: tc.stored, MaxConcurrent: 1}), "password123")
			ok, rehash, err := verifier.Verify(t.Context(), enc, "password123")
			if !ok || rehash != tc.want || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want true, %v, nil", enc, ok, rehash, err, tc.want)
			}
			if ok, rehash, _ := verifier.Verify(t.Context(), enc, "password124"); ok || rehash {
				t.Errorf("Verify(wrong password) = %v, %v, want false, false", ok, rehash)
			}
		})
	}
}

// TestVerifyArgon2CFFI checks a hash made by another implementation: the
// example of argon2-cffi's documentation (m=64 MiB, t=3, p=4), which is
// stronger than DefaultParams and so needs no rehash.
func TestVerifyArgon2CFFI(t *testing.T) {
	const enc = "$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg"
	h := New(Config{MaxConcurrent: 1})
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery staple", true}, {"correct horse battery stapler", false}} {
		if ok, rehash, err := h.Verify(t.Context(), enc, tc.pw); ok != tc.want || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v, want %v, false, nil", tc.pw, ok, rehash, err, tc.want)
		}
	}
}

// TestVerifyDummy checks that an unknown user and a malformed stored hash
// cost one argon2 computation with the hasher's own parameters.
func TestVerifyDummy(t *testing.T) {
	tests := []struct {
		name      string
		encoded   string
		malformed bool
	}{
		{"unknown user", "", false},
		{"garbage", "not a hash", true},
		{"plain text password", "password123", true},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", true},
		{"argon2id bad base64", "$argon2id$v=19$m=64,t=1,p=1$c2Fsd!NhbHQ$aGFzaGhhc2hoYXNoaGFzaA", true},
		{"argon2id version 16", "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", true},
		{"bcrypt truncated", xcrypt2b[:59], true},
		{"bcrypt 2x", "$2x$" + xcrypt2b[4:], true},
		{"bcrypt cost 3", "$2b$03$" + xcrypt2b[7:], true},
		{"bcrypt cost 31", "$2b$31$" + xcrypt2b[7:], true},
		{"bcrypt bad char", xcrypt2b[:59] + "!", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHasher(t, nil)
			var c counting
			c.install(h)
			ok, rehash, err := h.Verify(t.Context(), tc.encoded, "password123")
			if ok || rehash {
				t.Errorf("Verify(%q) = %v, %v, want false, false", tc.encoded, ok, rehash)
			}
			if got := errors.Is(err, ErrMalformedHash); got != tc.malformed || (!tc.malformed && err != nil) {
				t.Errorf("Verify(%q) error = %v, want malformed=%v", tc.encoded, err, tc.malformed)
			}
			p := h.Params()
			want := []hashCall{{p.Iterations, p.Memory, p.Parallelism, p.KeyLen}}
			if diff := cmp.Diff(want, c.get()); diff != "" {
				t.Errorf("Verify(%q) hashes (-want +got):\n%s", tc.encoded, diff)
			}
		})
	}
}

func TestVerifyDummyUsesDefaultParams(t *testing.T) {
	h := New(Config{MaxConcurrent: 1})
	var calls []hashCall
	h.idKey = func(_, _ []byte, t, m uint32, p uint8, keyLen uint32) []byte {
		calls = append(calls, hashCall{t, m, p, keyLen})
		return make([]byte, keyLen) // skip the real 19 MiB hash
	}
	if ok, _, err := h.Verify(t.Context(), "", "whatever1"); ok || err != nil {
		t.Fatalf("Verify(unknown user) = %v, %v, want false, nil", ok, err)
	}
	d := DefaultParams()
	want := []hashCall{{d.Iterations, d.Memory, d.Parallelism, d.KeyLen}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("dummy hash params (-want +got):\n%s", diff)
	}
	// A dummy key that happens to match must still not log anyone in.
	if ok, _, _ := h.Verify(t.Context(), "", "whatever1"); ok {
		t.Error("Verify(unknown user) = true when the dummy key matched")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		want      Params
		wantSlots int
		wantPanic bool
	}{
		{"zero", Config{}, DefaultParams(), 0, false},
		{"partial", Config{Params: Params{Memory: 65536}, MaxConcurrent: 3}, Params{65536, 2, 1, 16, 32}, 3, false},
		{"test params", Config{Params: TestParams()}, TestParams(), 0, false},
		{"memory below 8p", Config{Params: Params{Memory: 8, Parallelism: 2}}, Params{}, 0, true},
		{"salt too short", Config{Params: Params{SaltLen: 4}}, Params{}, 0, true},
		{"too many iterations", Config{Params: Params{Iterations: 1000}}, Params{}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); (r != nil) != tc.wantPanic {
					t.Errorf("New(%+v) panic = %v, want panic %v", tc.cfg, r, tc.wantPanic)
				}
			}()
			h := New(tc.cfg)
			if diff := cmp.Diff(tc.want, h.Params()); diff != "" {
				t.Errorf("New(%+v).Params() (-want +got):\n%s", tc.cfg, diff)
			}
			if tc.wantSlots > 0 && cap(h.slots) != tc.wantSlots {
				t.Errorf("slots = %d, want %d", cap(h.slots), tc.wantSlots)
			}
			if tc.cfg.MaxConcurrent == 0 && cap(h.slots) != max(1, runtime.GOMAXPROCS(0)/2) {
				t.Errorf("default slots = %d, want half of GOMAXPROCS %d, at least 1", cap(h.slots), runtime.GOMAXPROCS(0))
			}
			if cap(h.slots) < 1 || h.maxQueue != int64(maxQueuePerSlot*cap(h.slots)) || h.maxWait != DefaultMaxWait {
				t.Errorf("slots %d, queue cap %d, wait budget %v: want ≥ 1, %d per slot and %v", cap(h.slots), h.maxQueue, h.maxWait,
					maxQueuePerSlot, DefaultMaxWait)
			}
		})
	}
}

// TestBusyNoQueue holds the only slot directly: with no queue, callers get
// ErrBusy at once and no hash runs. It runs in a synctest bubble so that a
// caller that waited instead would be reported as a deadlock, not hang.
func TestBusyNoQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, func(c *Config) { c.MaxConcurrent, c.MaxQueue = 1, -1 })
		var c counting
		c.install(h)
		h.slots <- struct{}{}
		if got := h.InFlight(); got != 1 {
			t.Fatalf("InFlight() = %d, want 1", got)
		}
		if _, err := h.Hash(t.Context(), "password123"); !errors.Is(err, ErrBusy) {
			t.Errorf("Hash() with the slot held error = %v, want ErrBusy", err)
		}
		if ok, _, err := h.Verify(t.Context(), "", "password123"); ok || !errors.Is(err, ErrBusy) {
			t.Errorf("Verify() with the slot held = %v, %v, want false, ErrBusy", ok, err)
		}
		if n := len(c.get()); n != 0 {
			t.Errorf("%d hashes ran while busy, want 0", n)
		}
		<-h.slots
		if _, err := h.Hash(t.Context(), "password123"); err != nil {
			t.Errorf("Hash() after release error = %v", err)
		}
		if got := h.InFlight(); got != 0 {
			t.Errorf("InFlight() after Hash = %d, want 0", got)
		}
	})
}

// TestVerifyLookupHoldsASlotFirst: the stored hash is looked up only once
// a hashing slot is held, so an attempt refused as busy costs no lookup;
// a failed lookup is returned as is, with no hash.
func TestVerifyLookupHoldsASlotFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, func(c *Config) { c.MaxConcurrent, c.MaxQueue = 1, -1 })
		var c counting
		c.install(h)
		encoded, err := h.Hash(t.Context(), "password123")
		if err != nil {
			t.Fatal(err)
		}
		lookups := 0
		lookup := func() (string, error) {
			lookups++
			if h.InFlight() != 1 {
				t.Errorf("lookup ran with %d slots held, want 1", h.InFlight())
			}
			return encoded, nil
		}

		h.slots <- struct{}{}
		if ok, _, err := h.VerifyLookup(t.Context(), lookup, "password123"); ok || !errors.Is(err, ErrBusy) {
			t.Errorf("VerifyLookup() with the slot held = %v, %v, want false, ErrBusy", ok, err)
		}
		if lookups != 0 {
			t.Errorf("%d lookups while busy, want 0", lookups)
		}
		<-h.slots

		if ok, _, err := h.VerifyLookup(t.Context(), lookup, "password123"); !ok || err != nil {
			t.Errorf("VerifyLookup(right password) = %v, %v, want true, nil", ok, err)
		}
		if lookups != 1 {
			t.Errorf("%d lookups, want 1", lookups)
		}

		hashes := len(c.get())
		boom := errors.New("database down")
		if ok, _, err := h.VerifyLookup(t.Context(), func() (string, error) { return "", boom }, "password123"); ok || err != boom {
			t.Errorf("VerifyLookup(failing lookup) = %v, %v, want false and the lookup's error", ok, err)
		}
		if n := len(c.get()) - hashes; n != 0 {
			t.Errorf("%d hashes after a failed lookup, want 0", n)
		}
		if got := h.InFlight(); got != 0 {
			t.Errorf("InFlight() after VerifyLookup = %d, want 0", got)
		}
	})
}

// TestQueue fills the wait queue inside a synctest bubble, so "every
// waiter is blocked" is known exactly rather than guessed with sleeps.
func TestQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var waits atomic.Int64
		h := newTestHasher(t, func(c *Config) {
			c.MaxConcurrent, c.MaxQueue = 1, 2
			c.OnWait = func(time.Duration) { waits.Add(1) }
		})
		h.slots <- struct{}{} // hold the only slot
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := h.Hash(context.Background(), "password123")
				errs <- err
			}()
		}
		synctest.Wait()
		if got := h.QueueDepth(); got != 2 {
			t.Fatalf("QueueDepth() = %d, want 2", got)
		}
		if _, _, err := h.Verify(t.Context(), "", "password123"); !errors.Is(err, ErrBusy) {
			t.Errorf("Verify() with a full queue error = %v, want ErrBusy", err)
		}
		<-h.slots // let the waiters through, one at a time
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("queued Hash() error = %v", err)
			}
		}
		if got, want := waits.Load(), int64(2); got != want {
			t.Errorf("OnWait called %d times, want %d", got, want)
		}
		if h.QueueDepth() != 0 || h.InFlight() != 0 {
			t.Errorf("after the queue drained: QueueDepth %d, InFlight %d, want 0, 0", h.QueueDepth(), h.InFlight())
		}
	})
}

func TestContextWhileWaiting(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(context.Context) (context.Context, context.CancelFunc)
		stop bool // cancel explicitly once the caller waits
		want error
	}{
		{"cancelled", context.WithCancel, true, context.Canceled},
		{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, time.Second)
		}, false, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newTestHasher(t, func(c *Config) { c.MaxConcurrent = 1 })
				var c counting
				c.install(h)
				h.slots <- struct{}{}
				ctx, cancel := tc.ctx(t.Context())
				defer cancel()
				errs := make(chan error, 1)
				go func() {
					_, _, err := h.Verify(ctx, "", "password123")
					errs <- err
				}()
				synctest.Wait()
				if got := h.QueueDepth(); got != 1 {
					t.Fatalf("QueueDepth() = %d, want 1", got)
				}
				if tc.stop {
					cancel()
				}
				// Without cancel, the fake clock reaches the deadline
				// once every goroutine in the bubble is blocked.
				if err := <-errs; !errors.Is(err, tc.want) {
					t.Errorf("Verify() error = %v, want %v", err, tc.want)
				}
				if got := h.QueueDepth(); got != 0 {
					t.Errorf("QueueDepth() after giving up = %d, want 0", got)
				}
				if n := len(c.get()); n != 0 {
					t.Errorf("%d hashes ran, want 0", n)
				}
				<-h.slots
			})
		})
	}
}

func TestContextAlreadyDone(t *testing.T) {
	h := newTestHasher(t, nil)
	var c counting
	c.install(h)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.Hash(ctx, "password123"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled ctx) error = %v, want context.Canceled", err)
	}
	if _, _, err := h.Verify(ctx, "", "password123"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(cancelled ctx) error = %v, want context.Canceled", err)
	}
	if n := len(c.get()); n != 0 {
		t.Errorf("%d hashes ran, want 0", n)
	}
}

func TestOnWaitImmediate(t *testing.T) {
	var got []time.Duration
	h := newTestHasher(t, func(c *Config) { c.OnWait = func(d time.Duration) { got = append(got, d) } })
	mustHash(t, h, "password123")
	if len(got) != 1 || got[0] != 0 {
		t.Errorf("OnWait calls = %v, want one call with 0 (a slot was free)", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := newTestHasher(t, func(c *Config) { c.MaxConcurrent, c.MaxQueue = 2, 100 })
	enc := mustHash(t, h, "password123")
	var wg sync.WaitGroup
	var okCount atomic.Int64
	for i := range 20 {
		wg.Go(func() {
			pw := "password123"
			if i%2 == 1 {
				pw = "wrong-password"
			}
			ok, _, err := h.Verify(t.Context(), enc, pw)
			if err != nil {
				t.Errorf("Verify() error = %v", err)
			}
			if ok {
				okCount.Add(1)
			}
		})
	}
	wg.Wait()
	if got := okCount.Load(); got != 10 {
		t.Errorf("%d of 20 concurrent verifications succeeded, want 10", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"ok", "correct horse", nil},
		{"exactly 8", "12345678", nil},
		{"7", "1234567", ErrTooShort},
		{"empty", "", ErrTooShort},
		{"1024", strings.Repeat("x", 1024), nil},
		{"1025", strings.Repeat("x", 1025), ErrTooLong},
		{"unicode", "pässwörd", nil},
		{"4 characters in 8 bytes", "éééé", ErrTooShort},
		{"7 characters in 14 bytes", "ééééééé", ErrTooShort},
		{"4 emoji in 16 bytes", "🔑🔑🔑🔑", ErrTooShort},
		{"8 characters in 24 bytes", "密码密码密码密码", nil},
		{"inner spaces", "  a     ", nil},
		{"invalid UTF-8", "password\xff", ErrInvalidUTF8},
		{"only spaces", "        ", ErrBlank},
		{"only mixed white space", " \t\n\r\u00a0\u3000  ", ErrBlank},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.pw); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Validate(%q) error = %v, want %v", tc.pw, err, tc.want)
			}
		})
	}
}
