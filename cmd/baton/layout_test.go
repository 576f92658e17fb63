package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/batonhq/baton"

// TestImportDirection enforces STYLE.md §2: imports point one way, GORM and
// Gin stay in their packages.
func TestImportDirection(t *testing.T) {
	forbidden := map[string][]string{
		"models":   {module + "/", "gorm.io/", "github.com/gin-gonic/"},
		"keys":     {module + "/oauth", module + "/handlers", module + "/configs", module + "/models/gormstore", "gorm.io/", "github.com/gin-gonic/", "net/http"},
		"oauth":    {module + "/handlers", module + "/configs", module + "/models/gormstore", "gorm.io/", "github.com/gin-gonic/", "net/http"},
		"handlers": {module + "/configs", module + "/models/gormstore", "gorm.io/"},
		"configs":  {module + "/"},
		// Resource servers import these without pulling in Gin, GORM or baton's server
		// (each is a module of its own; its TestModuleDependencies checks the module graph).
		"oauth/resource":             {module + "/", "gorm.io/", "github.com/gin-gonic/"},
		"oauth/resource/ginresource": {module + "/handlers", module + "/keys", module + "/models", module + "/configs", "gorm.io/"},
	}
	root := filepath.Join("..", "..")
	for dir, bad := range forbidden {
		for imp, file := range imports(t, filepath.Join(root, dir)) {
			for _, b := range bad {
				if strings.HasPrefix(imp, b) || imp == strings.TrimSuffix(b, "/") {
					t.Errorf("%s imports %s (%s), which STYLE.md §2 forbids", dir, imp, file)
				}
			}
		}
	}
}

// imports returns the imports of the non-test Go files directly in dir.
func imports(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	out := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range af.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			out[p] = filepath.Base(f)
		}
	}
	return out
}

// TestEveryModuleTested: the test command of the README and .ci/run names
// baton's import path, and that pattern reaches every Go package in the
// tree, the nested resource-server modules included (`./...` stops at
// their go.mod; a nested module baton does not require would be missed).
func TestEveryModuleTested(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	const command = "go test -race -count=1 " + module + "/..."
	for _, name := range []string{"README.md", filepath.Join(".ci", "run")} {
		raw, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), command) {
			t.Errorf("%s does not run %q", name, command)
		}
	}
	cmd := exec.Command("go", "list", "-f", "{{.Dir}}", module+"/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s/...: %v", module, err)
	}
	listed := map[string]bool{}
	for _, dir := range strings.Fields(string(out)) {
		listed[dir] = true
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !listed[filepath.Dir(path)] {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			t.Errorf("%s is not matched by %s/...: is its module required and replaced in go.mod?", rel, module)
			listed[filepath.Dir(path)] = true // once per directory
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
