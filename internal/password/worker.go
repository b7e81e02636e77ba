package password

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// WorkerEnv is the environment variable that makes a process started by
// [StartWorker] serve as a hashing worker: [RunWorkerIfChild] checks that
// it holds workerProtocol. (It is not GATEHOUSE_PASSWORD_WORKER, the
// serve setting.)
const WorkerEnv = "GATEHOUSE_PASSWORD_WORKER_CHILD"

// workerProtocol names the protocol spoken on the pipes.
const workerProtocol = "gatehouse-password-worker/1"

// workerHello is the first thing a worker writes: the parent waits for it
// to know that the program it started is a worker of this protocol, not a
// binary that ignores WorkerEnv.
const workerHello = workerProtocol + "\n"

const (
	opArgon2id byte = 1
	opBcrypt   byte = 2

	statusOK  byte = 0
	statusErr byte = 1

	// maxFrame bounds one message of the protocol. A password is at most a
	// request body (1 MiB by default); the worker refuses more.
	maxFrame = 64 << 20

	// workerStartTimeout bounds the wait for a new worker's hello.
	workerStartTimeout = 10 * time.Second
	// workerRestartDelay is the least time between two starts, so that a
	// worker that dies at once is not restarted in a tight loop; hashes
	// asked for in between get ErrBusy.
	workerRestartDelay = time.Second
)

// workerCallTimeout is how long one hash may take in the worker before the
// worker is taken for stuck, killed and restarted. A hash takes tens of
// milliseconds and the costliest stored hash accepted (bcrypt cost
// maxBcryptCost) about a minute; only a stopped or wedged process takes
// this long. A variable for tests.
var workerCallTimeout = 3 * time.Minute

// RunWorkerIfChild makes the process a hashing worker if [StartWorker]
// started it: it then serves hashes on standard input and output until the
// parent closes its end, and exits. Otherwise it returns at once. Call it
// first thing in main of a program that names itself as the worker.
func RunWorkerIfChild() {
	if os.Getenv(WorkerEnv) != workerProtocol {
		return
	}
	// Ctrl-C in a terminal signals the whole process group, and systemd
	// signals the whole unit: the worker leaves shutting down to its
	// parent, which closes the pipe once its last login is answered.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse password worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ServeWorker answers hash requests read from r on w until r ends, each in
// a goroutine of its own at the lowest priority (the parent bounds how many
// run at once). It returns nil when r ends cleanly, after the last answer.
func ServeWorker(r io.Reader, w io.Writer) error {
	bw := bufio.NewWriter(w)
	var wmu sync.Mutex
	if _, err := bw.WriteString(workerHello); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	br := bufio.NewReader(r)
	var werr error
	for {
		frame, err := readFrame(br)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, status, out := answer(frame)
			wmu.Lock()
			defer wmu.Unlock()
			if werr == nil {
				werr = writeFrame(bw, func(b []byte) []byte {
					b = binary.LittleEndian.AppendUint64(b, id)
					b = append(b, status)
					return appendBytes(b, out)
				})
			}
		}()
	}
}

// request is one decoded hash request.
type request struct {
	id       uint64
	op       byte
	params   Params // opArgon2id; SaltLen is len(salt)
	salt     []byte // opArgon2id
	hash     []byte // opBcrypt
	password []byte
}

// decodeRequest parses a request frame. It returns the id it could read
// along with any error, so that the error can be answered.
func decodeRequest(frame []byte) (request, error) {
	d := decoder{b: frame}
	r := request{id: d.u64(), op: d.u8()}
	if d.bad {
		return r, errors.New("malformed request")
	}
	switch r.op {
	case opArgon2id:
		r.params = Params{Iterations: d.u32(), Memory: d.u32(), Parallelism: d.u8(), KeyLen: d.u32()}
		r.salt, r.password = d.bytes(), d.bytes()
		if d.bad || len(d.b) != 0 {
			return r, errors.New("malformed argon2id request")
		}
		r.params.SaltLen = uint32(len(r.salt))
		if err := r.params.Validate(); err != nil {
			return r, err
		}
	case opBcrypt:
		r.hash, r.password = d.bytes(), d.bytes()
		if d.bad || len(d.b) != 0 || !isBcrypt(string(r.hash)) {
			return r, errors.New("malformed bcrypt request")
		}
	default:
		return r, errors.New("unknown operation")
	}
	return r, nil
}

// answer computes one request on a low-priority thread. A malformed
// request gets an error answer: the parent is trusted, but a protocol bug
// must not take down every hash in flight.
func answer(frame []byte) (id uint64, status byte, out []byte) {
	r, err := decodeRequest(frame)
	if err != nil {
		return r.id, statusErr, []byte(err.Error())
	}
	switch r.op {
	case opArgon2id:
		p := r.params
		runLowPriority(func() { out = argon2.IDKey(r.password, r.salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen) })
	case opBcrypt:
		var ok bool
		runLowPriority(func() { ok = bcrypt.CompareHashAndPassword(r.hash, r.password) == nil })
		out = []byte{0}
		if ok {
			out[0] = 1
		}
	}
	return r.id, statusOK, out
}

// WorkerConfig configures [StartWorker].
type WorkerConfig struct {
	// Path is the program to run: one that calls [RunWorkerIfChild] first
	// in main (the gatehouse binary does).
	Path string
	// Args are its arguments, if it needs any.
	Args []string
	// Logger is told when the worker exits and is restarted.
	Logger *slog.Logger
}

// Worker hashes passwords in a child process: the argon2id memory (19 MiB
// a hash), its page faults and the garbage collection it causes then stay
// out of the process that answers requests. A worker that dies is started
// again at the next hash; the hashes it had in hand fail with [ErrBusy].
// Give it to a [Hasher] with [Config.Worker]. It is safe for concurrent use.
type Worker struct {
	cfg WorkerConfig

	// proc is the running child, nil when none. It is read without mu,
	// so that hashes and PID do not wait while a new child starts.
	proc atomic.Pointer[workerProc]

	mu      sync.Mutex // serializes starts and Close
	started time.Time  // when the last child was started
	closed  bool
}

// StartWorker starts the worker process and waits for it to answer. The
// child's environment is the parent's without the GATEHOUSE_ variables,
// which hold secrets it does not need, plus [WorkerEnv].
func StartWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Worker{cfg: cfg}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.startLocked(); err != nil {
		return nil, err
	}
	return w, nil
}

// Close stops the worker: it lets the hashes in hand finish (for a few
// seconds at most) and waits for the process to exit. Hashes asked for
// afterwards fail.
func (w *Worker) Close() error {
	w.mu.Lock()
	w.closed = true
	p := w.proc.Swap(nil)
	w.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.err == nil {
		p.err = errClosed
	}
	p.mu.Unlock()
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// PID returns the process id of the running child, or 0 when none runs.
func (w *Worker) PID() int {
	p := w.proc.Load()
	if p == nil || p.dead() {
		return 0
	}
	return p.cmd.Process.Pid
}

func (w *Worker) current() (*workerProc, error) {
	if p := w.proc.Load(); p != nil && !p.dead() {
		return p, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, fmt.Errorf("%w: password worker closed", ErrBusy)
	}
	if p := w.proc.Load(); p != nil && !p.dead() {
		return p, nil // another caller started it meanwhile
	}
	if time.Since(w.started) < workerRestartDelay {
		return nil, fmt.Errorf("%w: password worker restarting", ErrBusy)
	}
	p, err := w.startLocked()
	if err != nil {
		w.cfg.Logger.Error("password worker did not start", "err", err)
		return nil, fmt.Errorf("%w: password worker restarting", ErrBusy)
	}
	w.cfg.Logger.Warn("password worker restarted", "pid", p.cmd.Process.Pid)
	return p, nil
}

func (w *Worker) startLocked() (*workerProc, error) {
	w.started = time.Now()
	cmd := exec.Command(w.cfg.Path, w.cfg.Args...)
	cmd.Env = workerEnv(os.Environ())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start password worker: %w", err)
	}
	p := &workerProc{
		cmd: cmd, stdin: stdin, bw: bufio.NewWriter(stdin),
		pending: make(map[uint64]chan workerResult), done: make(chan struct{}),
	}
	hello := make(chan error, 1)
	go p.read(bufio.NewReader(stdout), hello, w.cfg.Logger)
	select {
	case err = <-hello:
	case <-time.After(workerStartTimeout):
		err = errors.New("no answer")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("start password worker %s: %w", w.cfg.Path, err)
	}
	w.proc.Store(p)
	return p, nil
}

// workerEnv is env without GATEHOUSE_ variables, plus WorkerEnv.
func workerEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			out = append(out, kv)
		}
	}
	return append(out, WorkerEnv+"="+workerProtocol)
}

// idKey is argon2.IDKey computed by the worker.
func (w *Worker) idKey(password, salt []byte, p Params) ([]byte, error) {
	out, err := w.call(func(b []byte) []byte { return appendArgon2idRequest(b, p, salt, password) })
	if err == nil && uint32(len(out)) != p.KeyLen {
		err = fmt.Errorf("password worker returned a %d-byte key, want %d", len(out), p.KeyLen)
	}
	return out, err
}

// appendArgon2idRequest appends the body of an argon2id request, after its id.
func appendArgon2idRequest(b []byte, p Params, salt, password []byte) []byte {
	b = append(b, opArgon2id)
	b = binary.LittleEndian.AppendUint32(b, p.Iterations)
	b = binary.LittleEndian.AppendUint32(b, p.Memory)
	b = append(b, p.Parallelism)
	b = binary.LittleEndian.AppendUint32(b, p.KeyLen)
	b = appendBytes(b, salt)
	return appendBytes(b, password)
}

// bcryptCompare is bcrypt.CompareHashAndPassword computed by the worker.
func (w *Worker) bcryptCompare(hash, password []byte) (bool, error) {
	out, err := w.call(func(b []byte) []byte {
		b = append(b, opBcrypt)
		b = appendBytes(b, hash)
		return appendBytes(b, password)
	})
	if err != nil {
		return false, err
	}
	return len(out) == 1 && out[0] == 1, nil
}

// call sends one request and waits for its answer, for the worker's death
// or for workerCallTimeout, after which it kills the worker.
func (w *Worker) call(body func([]byte) []byte) ([]byte, error) {
	p, err := w.current()
	if err != nil {
		return nil, err
	}
	ch := make(chan workerResult, 1)
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: password worker: %w", ErrBusy, p.err)
	}
	p.nextID++
	id := p.nextID
	p.pending[id] = ch
	p.mu.Unlock()

	p.wmu.Lock()
	err = writeFrame(p.bw, func(b []byte) []byte {
		return body(binary.LittleEndian.AppendUint64(b, id))
	})
	p.wmu.Unlock()
	if err != nil {
		p.kill(fmt.Errorf("write request: %w", err))
	}
	timer := time.NewTimer(workerCallTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.out, r.err
	case <-timer.C:
		p.kill(errors.New("a hash took too long"))
		r := <-ch
		return r.out, r.err
	}
}

type workerResult struct {
	out []byte
	err error
}

// workerProc is one child process and the calls waiting on it.
type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	wmu sync.Mutex // serializes writes to bw
	bw  *bufio.Writer

	mu      sync.Mutex
	pending map[uint64]chan workerResult
	nextID  uint64
	err     error // why the process is gone; set once
	done    chan struct{}
}

func (p *workerProc) dead() bool {
	select {
	case <-p.done:
		return true
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

// kill ends the process; read then fails every pending call.
func (p *workerProc) kill(why error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = why
	}
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
}

// read delivers the worker's answers until its output ends, then fails
// every call still waiting and reaps the process.
func (p *workerProc) read(br *bufio.Reader, hello chan<- error, log *slog.Logger) {
	defer close(p.done)
	got := make([]byte, len(workerHello))
	_, err := io.ReadFull(br, got)
	if err == nil && string(got) != workerHello {
		err = errors.New("the program is not a gatehouse password worker")
	}
	hello <- err
	for err == nil {
		var frame []byte
		if frame, err = readFrame(br); err != nil {
			break
		}
		d := decoder{b: frame}
		id, status, out := d.u64(), d.u8(), d.bytes()
		if d.bad || len(d.b) != 0 {
			err = errors.New("malformed answer")
			break
		}
		var r workerResult
		if status == statusOK {
			r.out = out
		} else {
			r.err = fmt.Errorf("password worker: %s", out)
		}
		p.mu.Lock()
		ch, ok := p.pending[id]
		delete(p.pending, id)
		p.mu.Unlock()
		if ok {
			ch <- r
		}
	}
	_ = p.cmd.Process.Kill() // a worker that spoke out of turn
	werr := p.cmd.Wait()
	p.mu.Lock()
	if p.err == nil {
		p.err = fmt.Errorf("exited (%v)", werr)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		}
		if err != nil {
			p.err = fmt.Errorf("%w, then killed: %v", err, werr)
		}
	}
	why := p.err
	pending := p.pending
	p.pending = map[uint64]chan workerResult{}
	p.mu.Unlock()
	for _, ch := range pending {
		ch <- workerResult{err: fmt.Errorf("%w: password worker: %w", ErrBusy, why)}
	}
	if len(pending) > 0 || !errors.Is(why, errClosed) {
		log.Warn("password worker stopped", "pid", p.cmd.Process.Pid, "reason", why.Error(), "hashes_lost", len(pending))
	}
}

var errClosed = errors.New("closed")

// writeFrame writes a length-prefixed frame whose body fill appends, and
// flushes it.
func writeFrame(bw *bufio.Writer, fill func([]byte) []byte) error {
	b := fill(make([]byte, 4, 128))
	binary.LittleEndian.PutUint32(b, uint32(len(b)-4))
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

func readFrame(br *bufio.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(br, n[:]); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(n[:])
	if size > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes is too large", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(br, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// decoder reads the fields of a frame; bad is set, and zero values are
// returned, once a field runs past the end.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b) {
		d.bad = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) bytes() []byte {
	n := d.u32()
	if d.bad || uint64(n) > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	return d.take(int(n))
}
