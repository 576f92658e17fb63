package main

import (
	"debug/elf"
	"encoding/binary"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	composeloader "github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/batonhq/baton/configs"
)

// TestComposeFile loads docker-compose.yml with the loader behind
// `docker compose`: Postgres, two baton replicas on the same database, a
// load balancer in front, every service with a health check.
func TestComposeFile(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	project, err := composeloader.LoadWithContext(t.Context(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping{"BATON_KEK": randomKEK(t)},
	}, func(o *composeloader.Options) { o.SetProjectName("baton", true) })
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "baton-1", "baton-2", "lb"} {
		svc, ok := project.Services[name]
		if !ok {
			t.Fatalf("service %s missing", name)
		}
		if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 || svc.HealthCheck.Disable {
			t.Fatalf("service %s has no health check", name)
		}
	}
	dbURLs := map[string]bool{}
	for _, name := range []string{"baton-1", "baton-2"} {
		svc := project.Services[name]
		if svc.Build == nil {
			t.Fatalf("%s is not built from the Dockerfile", name)
		}
		raw := svc.Environment["BATON_DATABASE_URL"]
		if raw == nil {
			t.Fatalf("%s has no BATON_DATABASE_URL", name)
		}
		u, err := url.Parse(*raw)
		if err != nil || u.Hostname() != "postgres" {
			t.Fatalf("%s: database %q is not the postgres service", name, *raw)
		}
		dbURLs[*raw] = true
		if _, ok := svc.DependsOn["postgres"]; !ok {
			t.Fatalf("%s does not wait for postgres", name)
		}
		if kek := svc.Environment["BATON_KEK"]; kek == nil || *kek == "" {
			t.Fatalf("%s has no BATON_KEK", name)
		}
	}
	if len(dbURLs) != 1 {
		t.Fatalf("the replicas use different databases: %v", dbURLs)
	}
	for _, dep := range []string{"baton-1", "baton-2"} {
		if _, ok := project.Services["lb"].DependsOn[dep]; !ok {
			t.Fatalf("the load balancer does not front %s", dep)
		}
	}
	nginx, err := os.ReadFile(filepath.Join(root, "configs", "nginx.conf"))
	if err != nil || !strings.Contains(string(nginx), "baton-1:8080") || !strings.Contains(string(nginx), "baton-2:8080") {
		t.Fatalf("configs/nginx.conf does not balance both replicas: %v", err)
	}
	// The replicas' configuration file is valid for baton.
	env := environ{"BATON_CONFIG": filepath.Join(root, "configs", "compose.yaml"), "BATON_DATABASE_URL": *project.Services["baton-1"].Environment["BATON_DATABASE_URL"], "BATON_KEK": randomKEK(t)}
	cfg, err := configs.Load(env.get)
	if err != nil {
		t.Fatalf("configs/compose.yaml: %v", err)
	}
	checkProxyTrust(t, project, cfg.Proxies(), string(nginx))
}

// checkProxyTrust: the replicas believe X-Forwarded-For from the load
// balancer's own address only (not a private range any container may hold),
// and nginx overwrites X-Forwarded-For with the peer's address and drops
// X-Real-IP, so a client cannot choose the address it is throttled under.
func checkProxyTrust(t *testing.T, project *types.Project, proxies []string, nginx string) {
	t.Helper()
	var lbAddrs []string
	for name, n := range project.Services["lb"].Networks {
		if n == nil || n.Ipv4Address == "" {
			t.Fatalf("the load balancer has no fixed address on network %s", name)
		}
		lbAddrs = append(lbAddrs, n.Ipv4Address)
	}
	if len(lbAddrs) == 0 {
		t.Fatal("the load balancer has no fixed address")
	}
	if len(proxies) == 0 {
		t.Fatal("configs/compose.yaml trusts no proxy: every client would share the balancer's address")
	}
	for _, p := range proxies {
		if _, n, err := net.ParseCIDR(p); err == nil {
			if ones, bits := n.Mask.Size(); ones != bits {
				t.Fatalf("configs/compose.yaml trusts the range %s, not the balancer's address %v", p, lbAddrs)
			}
			p = n.IP.String()
		}
		if !slices.Contains(lbAddrs, p) {
			t.Fatalf("configs/compose.yaml trusts %s, which is not the balancer's address %v", p, lbAddrs)
		}
	}
	directives := map[string]string{} // proxy_set_header name → value
	for _, line := range strings.Split(nginx, "\n") {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		if len(f) == 3 && f[0] == "proxy_set_header" {
			directives[strings.ToLower(f[1])] = f[2]
		}
	}
	if v := directives["x-forwarded-for"]; v != "$remote_addr" {
		t.Fatalf("nginx.conf sets X-Forwarded-For to %q; it must overwrite it with $remote_addr", v)
	}
	if v, ok := directives["x-real-ip"]; !ok || v != `""` {
		t.Fatalf("nginx.conf passes the client's X-Real-IP through (set it to \"\")")
	}
}

// TestDockerBuildIsStatic runs the Dockerfile's build command, with its
// VERSION and COMMIT build arguments, and checks that the binary is static
// (no dynamic loader), as the distroless image needs, and that the
// arguments reached main.version and main.commit (baton_build_info).
func TestDockerBuildIsStatic(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*) -o \S+ (\./cmd/baton)$`)
	m := build.FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatal("the Dockerfile has no `RUN CGO_ENABLED=0 go build … -o … ./cmd/baton` line")
	}
	const version, commit = "v9.8.7-test", "0123456789abcdef"
	line := strings.NewReplacer("${VERSION}", version, "${COMMIT}", commit).Replace(m[1])
	words := shellWords(line) // CGO_ENABLED=0 go build [flags…]
	pkg := m[2]
	out := filepath.Join(t.TempDir(), "baton")
	args := append(append([]string{}, words[2:]...), "-o", out, pkg)
	cmd := exec.Command(words[1], args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), words[0])
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, b)
	}
	bin, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary needs a dynamic loader: it is not static")
		}
	}
	for sym, want := range map[string]string{"main.version": version, "main.commit": commit} {
		if got := elfString(t, bin, sym); got != want {
			t.Errorf("%s = %q, want %q (the Dockerfile's -ldflags -X)", sym, got, want)
		}
	}
	for _, label := range []string{`org.opencontainers.image.version="${VERSION}"`, `org.opencontainers.image.revision="${COMMIT}"`,
		`org.opencontainers.image.source=`, `org.opencontainers.image.licenses="Apache-2.0"`} {
		if !strings.Contains(string(raw), label) {
			t.Errorf("the Dockerfile lacks the label %s", label)
		}
	}
}

// shellWords splits a command line on spaces, keeping double-quoted words.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quoted, in := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				words = append(words, cur.String())
				cur.Reset()
			}
			in = false
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// elfString reads a Go string variable of a (little-endian, 64-bit) binary.
func elfString(t *testing.T, f *elf.File, name string) string {
	t.Helper()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	read := func(addr, n uint64) []byte {
		for _, sec := range f.Sections {
			if sec.Type != elf.SHT_NOBITS && addr >= sec.Addr && addr+n <= sec.Addr+sec.Size {
				b := make([]byte, n)
				if _, err := sec.ReadAt(b, int64(addr-sec.Addr)); err != nil {
					t.Fatal(err)
				}
				return b
			}
		}
		return nil // in .bss: never set
	}
	for _, s := range syms {
		if s.Name != name {
			continue
		}
		hdr := read(s.Value, 16)
		if hdr == nil {
			return ""
		}
		return string(read(binary.LittleEndian.Uint64(hdr), binary.LittleEndian.Uint64(hdr[8:])))
	}
	t.Fatalf("no symbol %s in the binary", name)
	return ""
}
