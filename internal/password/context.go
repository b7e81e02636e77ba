package password

import "context"

// workerKey is the context key of the password worker a process started.
type workerKey struct{}

// WithWorker returns ctx carrying w, the password worker a program
// started for the server it is about to build. `gatehouse serve` uses it:
// the worker is a concern of the binary (it re-executes itself), not of
// the embeddable server's configuration, which stays free of it.
func WithWorker(ctx context.Context, w *Worker) context.Context {
	return context.WithValue(ctx, workerKey{}, w)
}

// WorkerFrom returns the worker ctx carries, or nil: hash in process.
func WorkerFrom(ctx context.Context) *Worker {
	w, _ := ctx.Value(workerKey{}).(*Worker)
	return w
}
