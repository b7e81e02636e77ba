// Command gatehouse is the gatehouse authorization server and its
// command-line administration tool.
//
//	gatehouse serve                 # run the server (embedded SQLite by default)
//	gatehouse user create alice --password-stdin --scopes "read write"
//	gatehouse apikey create --user alice --json
//
// Every setting is a flag and a GATEHOUSE_<NAME> environment variable,
// taken by the commands that use it: serve takes the server's settings,
// the commands that work on the database --database-url, --secret-file,
// --json, their own flags and the few settings they use (config.go holds
// the one table). Secrets come only from the environment or a file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/text"
)

// selfExe is the path of this binary, which serve runs again as its
// password-hashing worker. main sets it; tests leave it empty, so the
// servers they start hash in process.
var selfExe string

func main() {
	setup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// setup is what the process does before anything else: it becomes the
// password worker if serve started it as one (and never returns then),
// and learns this binary's path for serve to start as its worker.
func setup() {
	password.RunWorkerIfChild()
	if exe, err := os.Executable(); err == nil {
		selfExe = exe
	}
}

// run executes the CLI; it is main without the process around it, so tests
// call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	// A shell passes any bytes: screen them as the server screens a URL,
	// so that no name, id or filter reaches the store as text it cannot
	// hold. The argument is not repeated: it might be a secret.
	for i, a := range args {
		if !text.Storable(a) {
			fmt.Fprintf(stderr, "gatehouse: argument %d is not valid UTF-8 text (or holds a NUL byte)\n", i+1)
			return 1
		}
	}
	root := newRootCommand(&env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv})
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
	return 0
}
