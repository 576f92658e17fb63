package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binDir holds the baton binary the tests build once and run.
var binDir string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == baselineArg {
		// --baseline runs its server as a child process of the running
		// executable, which under go test is this binary.
		os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	dir, err := os.MkdirTemp("", "baton-bench-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// batonBinary builds cmd/baton once for the package's tests.
var batonBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "baton")
	out, err := exec.Command("go", "build", "-o", bin, "../baton").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ../baton: %w\n%s", err, out)
	}
	return bin, nil
})

const secretLine = "a-long-random-client-secret\n"

// runCmd runs the load tool and returns its exit code and output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// deployment is a baton binary on a SQLite file of the test's own.
type deployment struct {
	bin string
	env []string
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	bin, err := batonBinary()
	if err != nil {
		t.Fatal(err)
	}
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	return &deployment{bin: bin, env: []string{"PATH=" + os.Getenv("PATH"), "BATON_LOG_LEVEL=warn",
		"BATON_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "baton.db"),
		"BATON_KEK=" + base64.StdEncoding.EncodeToString(kek)}}
}

// cli runs one baton command and returns its output.
func (d *deployment) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(d.bin, args...)
	cmd.Env, cmd.Stdin = d.env, strings.NewReader(stdin)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("baton %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return string(out)
}

// serve runs `baton serve` until the test ends and returns its base URL.
func (d *deployment) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(d.bin, "serve")
	cmd.Env = append(d.env, "BATON_ADDR="+addr, "BATON_ISSUER=http://"+addr)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		<-done
		if t.Failed() {
			t.Logf("logs of baton serve:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-done:
			t.Fatalf("baton serve exited: %s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("baton serve did not become ready (its logs follow)")
	return ""
}
