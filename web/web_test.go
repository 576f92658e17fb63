package web

import (
	"os"
	"os/exec"
	"testing"
)

// TestClientUnitTests runs the browser client's node:test suite, so that the
// one Go test command covers it.
func TestClientUnitTests(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	cmd := exec.CommandContext(t.Context(), node, "--test", "test/")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}

func TestEmbedded(t *testing.T) {
	for _, f := range []string{"baton-client.js", "demo/index.html"} {
		if b, err := Files.ReadFile(f); err != nil || len(b) == 0 {
			t.Fatalf("%s not embedded: %v", f, err)
		}
	}
}
