// Package cli runs a kong command line the way baton's commands do: --help
// returns from Run instead of exiting the process, and errors are one line
// on stderr.
package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// Env is what a command's Run method receives: the process's context,
// environment and standard streams.
type Env struct {
	Ctx    context.Context
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// exitCode is panicked by kong's Exit hook so that --help returns from Run
// instead of exiting the process.
type exitCode int

// Run parses args into grammar, runs the command chosen with bindings and
// returns the process exit status: 0, 1 when the command fails, 2 when the
// command line is wrong, or the status kong exits with (--help). Errors are
// one line on stderr, prefixed with name.
func Run(name, description string, grammar any, args []string, stdout, stderr io.Writer, bindings ...any) (code int) {
	defer func() {
		if r := recover(); r != nil {
			ec, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(ec)
		}
	}()
	parser, err := kong.New(grammar, kong.Name(name),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitCode(code)) }))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, OneLine(err))
		return 2
	}
	if err := kctx.Run(bindings...); err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, OneLine(err))
		return 1
	}
	return 0
}

// OneLine writes an error on one line: the lines of errors.Join's message
// (nested joins included) become "; "-separated parts. Every wrapping
// prefix stays: the message is the error's own, only its line breaks change.
func OneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
