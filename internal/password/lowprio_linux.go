package password

import (
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// lowPriorityNice is the nice value of the threads that hash passwords:
// the lowest priority, so that the kernel runs them only with CPU time no
// request at normal priority wants.
const lowPriorityNice = 19

// runLowPriority runs f on an OS thread of its own whose scheduling
// priority is lowered to nice 19, and waits for it. A login flood then
// takes only CPU time that token and API-key checks leave over, even when
// a hash has already started (the hashing slots bound how many run; this
// bounds how much they can delay everything else).
//
// The goroutine stays locked to its thread and exits without unlocking,
// so the Go runtime terminates the thread instead of handing a lowered
// thread to other goroutines. If the priority cannot be changed (a
// sandbox forbidding setpriority), f runs at normal priority. A panic in
// f is raised again in the caller's goroutine, where the server's
// recovery middleware can see it.
func runLowPriority(f func()) {
	done := make(chan any, 1)
	go func() {
		runtime.LockOSThread()
		defer func() { done <- recover() }()
		tid := syscall.Gettid()
		// PRIO_PROCESS with a thread id changes only that thread on Linux.
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, lowPriorityNice)
		// SCHED_IDLE (allowed without privileges since Linux 2.6.39):
		// a request thread that wakes up preempts the hash at once,
		// where nice 19 alone may still let it finish its time slice
		// (a millisecond or more) first.
		_ = unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_IDLE, Nice: lowPriorityNice}, 0)
		f()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}
