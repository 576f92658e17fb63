package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time: go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

type versionCmd struct{}

// Run prints the version, the commit and the Go version.
func (versionCmd) Run(e *env) error {
	v, c, goVersion := buildInfo()
	fmt.Fprintf(e.Stdout, "baton %s (commit %s, %s)\n", v, c, goVersion)
	return nil
}

// buildInfo is the -X variables where set, else what the Go toolchain
// recorded in the binary (module version, VCS revision).
func buildInfo() (v, c, goVersion string) {
	v, c, goVersion = version, commit, runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c, goVersion
}
