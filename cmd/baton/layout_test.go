package main

import (
	"go/parser"
	"go/token"
	"os"
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
		// Resource servers import these without pulling in Gin, GORM or baton's server.
		"oauth/resource": {module + "/", "gorm.io/", "github.com/gin-gonic/"},
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
