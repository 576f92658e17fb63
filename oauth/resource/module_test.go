package resource_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestModuleDependencies: an API that imports this module inherits go-jose
// and nothing of baton's server: not Gin, GORM, pgx, SQLite or chromedp, and
// not baton's own module. It reads the module graph and the packages (tests
// included) from this directory's go.mod, as a consumer's go command would.
func TestModuleDependencies(t *testing.T) {
	// "github.com/batonhq/baton " is baton's module itself in `go list -m all`.
	forbidden := []string{"github.com/gin-gonic/", "gorm.io/", "github.com/jackc/", "github.com/glebarez/",
		"modernc.org/", "github.com/chromedp/", "github.com/batonhq/baton "}
	mods := goList(t, "-m", "all")
	if !strings.Contains(mods, "github.com/go-jose/go-jose/v4 ") {
		t.Fatalf("go-jose is not in the module graph:\n%s", mods)
	}
	pkgs := goList(t, "-deps", "-test", "./...")
	for _, bad := range forbidden {
		for _, line := range strings.Split(mods+pkgs, "\n") {
			if strings.HasPrefix(line+" ", bad) {
				t.Errorf("%s requires %s: resource servers would inherit it", "oauth/resource", line)
			}
		}
	}
}

// goList runs `go list` in this module alone (no go.work).
func goList(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list %v: %v\n%s", args, err, stderr)
	}
	return string(out)
}
