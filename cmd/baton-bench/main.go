// Command baton-bench is baton's load tool: it drives a running baton and
// prints throughput, latency percentiles and errors by status, then one
// machine-readable JSON line. It is a tool of the repository, not part of
// the product binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
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

// env is what a command receives: the process's context, environment and
// standard streams.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// exitCode is panicked by kong's Exit hook so that --help returns from run
// instead of exiting the process.
type exitCode int

// run executes the command line and returns the process exit status.
// Errors are one line on stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var c any = &benchCmd{}
	if len(args) > 0 && args[0] == baselineArg {
		c, args = &benchBaselineCmd{}, args[1:]
	}
	defer func() {
		if r := recover(); r != nil {
			ec, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(ec)
		}
	}()
	parser, err := kong.New(c, kong.Name("baton-bench"),
		kong.Description("baton-bench: load a running baton and report throughput, latency and errors."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitCode(code)) }))
	if err != nil {
		fmt.Fprintf(stderr, "baton-bench: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "baton-bench: %s\n", oneLine(err))
		return 2
	}
	if err := kctx.Run(&env{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}); err != nil {
		fmt.Fprintf(stderr, "baton-bench: %s\n", oneLine(err))
		return 1
	}
	return 0
}

// oneLine is err on one line (a joined error's parts are separated by
// newlines).
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
