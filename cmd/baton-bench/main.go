// Command baton-bench is baton's load tool: it drives a running baton and
// prints throughput, latency percentiles and errors by status, then one
// machine-readable JSON line. It is a tool of the repository, not part of
// the product binary.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/batonhq/baton/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// baselineArg, as the first argument, runs the baseline server that
// --baseline starts as a child process instead of the load; it is not
// shown in the help.
const baselineArg = "baseline-server"

// run executes the command line and returns the process exit status.
// Errors are one line on stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var c any = &benchCmd{}
	if len(args) > 0 && args[0] == baselineArg {
		c, args = &benchBaselineCmd{}, args[1:]
	}
	return cli.Run("baton-bench", "baton-bench: load a running baton and report throughput, latency and errors.",
		c, args, stdout, stderr,
		&cli.Env{Ctx: ctx, Getenv: getenv, Stdin: stdin, Stdout: stdout, Stderr: stderr})
}
