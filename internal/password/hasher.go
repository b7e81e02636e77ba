package password

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrBusy is returned (as a [*BusyError]) by [Hasher.Hash] and
// [Hasher.Verify] when every hashing slot is taken and the wait for one
// would exceed the wait budget, or (wrapped) when the [Worker] process is
// down and being restarted. Callers should answer "try again later"
// (HTTP 503 with Retry-After) rather than queue more work.
var ErrBusy = errors.New("password hashing is busy")

// maxBcryptCost bounds the cost of stored bcrypt hashes that Verify will
// run: 2^20 rounds already take about a minute. passlib's default is 12.
const maxBcryptCost = 20

// Config configures a [Hasher]. The zero value is usable.
type Config struct {
	// Params are the argon2id parameters of new hashes and the standard
	// older hashes are measured against. Zero fields take the values of
	// [DefaultParams].
	Params Params
	// MaxConcurrent is how many hashes may run at once; 0 means half of
	// runtime.GOMAXPROCS(0), at least one, so that a flood of logins
	// leaves CPU for the requests that need no password (token and API-key
	// checks). On Linux each hash also runs on a thread of its own at the
	// lowest priority (nice 19), so a hash yields the CPU to any request
	// that wants it.
	MaxConcurrent int
	// MaxWait is the wait budget: a caller that finds every slot taken
	// waits for one while the wait it can expect — its place in the queue
	// over MaxConcurrent, times the recent mean time a hash holds its slot
	// — is at most MaxWait, and gets a [*BusyError] at once otherwise. A
	// burst of logins is thus served in order and only true overload is
	// refused. 0 means [DefaultMaxWait].
	MaxWait time.Duration
	// MaxQueue caps the number of callers waiting for a slot whatever the
	// estimate says. 0 means 128·MaxConcurrent; a negative value means
	// none may wait.
	MaxQueue int
	// OnWait, if set, is called once for every slot acquired, with the
	// time the caller waited for it (0 when a slot was free): the data for
	// a queue-wait histogram. It must be fast and safe for concurrent use.
	OnWait func(wait time.Duration)
	// Worker, if set, computes every hash in its child process instead of
	// in this one (see [Worker]). The Hasher does not close it.
	Worker *Worker
}

// Hasher hashes and verifies passwords with bounded concurrency. Make one
// with [New]; it is safe for concurrent use.
type Hasher struct {
	params   Params
	slots    chan struct{} // a buffered semaphore: one token per running hash
	maxQueue int64
	maxWait  time.Duration
	estimate waitEstimate
	waiting  atomic.Int64
	onWait   func(time.Duration)
	worker   *Worker

	// dummySalt and dummyKey make the fixed hash that unknown users and
	// malformed stored hashes are checked against, so that they cost the
	// same as a real check.
	dummySalt, dummyKey []byte

	// idKey is argon2.IDKey; white-box tests wrap it to count hashes.
	idKey func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
}

// New returns a Hasher for cfg. It panics if the parameters, after zero
// fields are defaulted, fail [Params.Validate]: they come from code, not
// from users.
func New(cfg Config) *Hasher {
	p := withDefaults(cfg.Params)
	if err := p.Validate(); err != nil {
		panic("password: " + err.Error())
	}
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = max(1, runtime.GOMAXPROCS(0)/2)
	}
	q := cfg.MaxQueue
	switch {
	case q == 0:
		q = maxQueuePerSlot * n
	case q < 0:
		q = 0
	}
	h := &Hasher{
		params:    p,
		slots:     make(chan struct{}, n),
		maxQueue:  int64(q),
		maxWait:   cmp.Or(cfg.MaxWait, DefaultMaxWait),
		onWait:    cfg.OnWait,
		worker:    cfg.Worker,
		dummySalt: make([]byte, p.SaltLen),
		dummyKey:  make([]byte, p.KeyLen),
		idKey:     argon2.IDKey,
	}
	_, _ = rand.Read(h.dummySalt)
	return h
}

func withDefaults(p Params) Params {
	d := DefaultParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Iterations == 0 {
		p.Iterations = d.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = d.Parallelism
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	return p
}

// Params returns the parameters of the hashes h makes.
func (h *Hasher) Params() Params { return h.params }

// QueueDepth returns how many callers are waiting for a hashing slot.
func (h *Hasher) QueueDepth() int { return int(h.waiting.Load()) }

// InFlight returns how many hashes are running.
func (h *Hasher) InFlight() int { return len(h.slots) }

// Hash returns the argon2id hash of password in PHC format, made with h's
// parameters and a fresh random salt. It fails only with [ErrBusy] or when
// ctx ends while it waits for a slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	held, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.release(held)
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt) // never fails since Go 1.24
	key, err := h.argon2id([]byte(password), salt, h.params)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify checks password against encoded, an argon2id PHC string or a
// bcrypt hash ($2a$, $2b$, $2y$), comparing in constant time.
//
// needsRehash is true only when ok is: the hash is bcrypt, or argon2id with
// a smaller memory, iteration count, salt or key than h's parameters; the
// caller should then store a fresh [Hasher.Hash] of the password.
//
// An empty encoded (an unknown user) is checked against a fixed dummy hash
// with h's parameters, so it costs the same as a real check, and gives
// ok=false and no error. A malformed encoded is treated the same way but
// returns an error wrapping [ErrMalformedHash]. Besides that, err is
// [ErrBusy] or the context's error while waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	return h.VerifyLookup(ctx, func() (string, error) { return encoded, nil }, password)
}

// VerifyLookup is [Hasher.Verify] for a hash that lookup fetches (from the
// database) only once a hashing slot is held: an attempt refused with
// [ErrBusy] then costs no lookup, so a flood of logins against a full
// hasher does not turn into a flood of queries that other requests wait
// behind. An error of lookup is returned as is, with no hashing.
func (h *Hasher) VerifyLookup(ctx context.Context, lookup func() (encoded string, err error), password string) (ok, needsRehash bool, err error) {
	held, aerr := h.acquire(ctx)
	if aerr != nil {
		return false, false, aerr
	}
	defer h.release(held)
	encoded, lerr := lookup()
	if lerr != nil {
		return false, false, lerr
	}
	switch {
	case encoded == "":
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, perr := ParsePHC(encoded)
		if perr != nil {
			err = perr
			break
		}
		got, herr := h.argon2id([]byte(password), salt, p)
		if herr != nil {
			return false, false, herr
		}
		ok := subtle.ConstantTimeCompare(got, key) == 1
		return ok, ok && p.weakerThan(h.params), nil
	case isBcrypt(encoded):
		// CompareHashAndPassword compares in constant time. Like passlib
		// and libxcrypt, bcrypt ignores bytes after the 72nd.
		ok, herr := h.bcryptCompare([]byte(encoded), []byte(password))
		if herr != nil {
			return false, false, herr
		}
		return ok, ok, nil
	default:
		err = fmt.Errorf("%w: unknown hash format", ErrMalformedHash)
	}
	// An unknown user or a malformed hash: the dummy hash, for the time.
	if _, herr := h.argon2id([]byte(password), h.dummySalt, h.params); herr != nil {
		return false, false, herr
	}
	return false, false, err
}

// argon2id computes an argon2id key with p's cost, in the worker process
// if there is one, else on a low-priority thread of this one.
func (h *Hasher) argon2id(password, salt []byte, p Params) ([]byte, error) {
	if h.worker != nil {
		return h.worker.idKey(password, salt, p)
	}
	var key []byte
	runLowPriority(func() { key = h.idKey(password, salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen) })
	return key, nil
}

// bcryptCompare is bcrypt.CompareHashAndPassword == nil, placed like argon2id.
func (h *Hasher) bcryptCompare(hash, password []byte) (bool, error) {
	if h.worker != nil {
		return h.worker.bcryptCompare(hash, password)
	}
	var ok bool
	runLowPriority(func() { ok = bcrypt.CompareHashAndPassword(hash, password) == nil })
	return ok, nil
}

// isBcrypt reports whether s is a well-formed bcrypt hash with an accepted
// version and cost: "$2b$12$" then 53 characters of bcrypt's base64.
func isBcrypt(s string) bool {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return false
	}
	switch s[2] {
	case 'a', 'b', 'y':
	default:
		return false
	}
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return false
	}
	if cost := int(s[4]-'0')*10 + int(s[5]-'0'); cost < bcrypt.MinCost || cost > maxBcryptCost {
		return false
	}
	for i := 7; i < len(s); i++ {
		c := s[i]
		if c != '.' && c != '/' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// acquire takes a hashing slot, waiting if the expected wait is within
// the budget, and returns when it took it.
func (h *Hasher) acquire(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("wait for password hashing slot: %w", err)
	}
	select {
	case h.slots <- struct{}{}:
		h.observe(0)
		return time.Now(), nil
	default:
	}
	for {
		w := h.waiting.Load()
		wait := h.estimate.wait(w+1, int64(cap(h.slots)))
		if w >= h.maxQueue || wait > h.maxWait {
			return time.Time{}, &BusyError{RetryAfter: wait}
		}
		if h.waiting.CompareAndSwap(w, w+1) {
			break
		}
	}
	defer h.waiting.Add(-1)
	start := time.Now()
	select {
	case h.slots <- struct{}{}:
		now := time.Now()
		h.observe(now.Sub(start))
		return now, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("wait for password hashing slot: %w", ctx.Err())
	}
}

// release gives back the slot taken at held and feeds the time it was
// held into the wait estimate.
func (h *Hasher) release(held time.Time) {
	h.estimate.observe(time.Since(held))
	<-h.slots
}

func (h *Hasher) observe(d time.Duration) {
	if h.onWait != nil {
		h.onWait(d)
	}
}
