package test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The configurations shipped in docs/examples run unchanged, apart from
// their addresses, and balance as they say.

// example is a shipped configuration rewritten to run here.
type example struct {
	path     string
	cfg      string     // the rewritten text
	fe       string     // the address its first bind now listens on
	servers  []*backend // one per active server line, in order
	weights  []int      // their weights
	backups  []*backend
	balance  string
	original string
}

// examplesDir holds the shipped example configurations.
var examplesDir = filepath.Join(repoRoot, "docs", "examples")

var (
	serverLine = regexp.MustCompile(`^(\s*server\s+(\S+)\s+)(\S+)(.*)$`)
	bindLine   = regexp.MustCompile(`^(\s*bind\s+)(\S+)(.*)$`)
	pathLine   = regexp.MustCompile(`^(\s*(?:stats\s+socket|pidfile|server-state-file|server-state-base)\s+)(/\S+)(.*)$`)
	weightOpt  = regexp.MustCompile(`\sweight\s+(\d+)`)
	balanceKw  = regexp.MustCompile(`^\s*balance\s+(\S+)`)
)

// loadExample reads docs/examples/NAME and replaces, line by line, each
// server address with a backend started here (greeting with the server's
// name), each bind address with a free port on 127.0.0.1, and absolute
// paths of sockets and state files with paths in a temporary directory.
// Nothing else changes.
func loadExample(t *testing.T, name string) *example {
	t.Helper()
	path := filepath.Join(examplesDir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the shipped example %s cannot be read: %v", filepath.Join("docs", "examples", name), err)
	}
	ex := &example{path: path, original: string(data), balance: "roundrobin"}
	tmp := t.TempDir()
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		code, comment, _ := strings.Cut(line, "#")
		if comment != "" {
			comment = "#" + comment
		}
		switch {
		case serverLine.MatchString(code):
			m := serverLine.FindStringSubmatch(code)
			b := startBackend(t, m[2])
			host := b.Addr
			if !strings.Contains(m[3], ":") { // no port: keep it so (the client's port is used)
				t.Fatalf("%s:%d: server %s has no port; this test cannot rewrite it", name, i+1, m[2])
			}
			code = m[1] + host + m[4]
			if regexp.MustCompile(`\sbackup(\s|$)`).MatchString(m[4]) {
				ex.backups = append(ex.backups, b)
				break
			}
			w := 1
			if wm := weightOpt.FindStringSubmatch(m[4]); wm != nil {
				w, _ = strconv.Atoi(wm[1])
			}
			ex.servers = append(ex.servers, b)
			ex.weights = append(ex.weights, w)
		case bindLine.MatchString(code):
			m := bindLine.FindStringSubmatch(code)
			a := freeAddr(t)
			if ex.fe == "" {
				ex.fe = a
			}
			code = m[1] + a + m[3]
		case pathLine.MatchString(code):
			m := pathLine.FindStringSubmatch(code)
			code = m[1] + filepath.Join(tmp, filepath.Base(m[2])) + m[3]
		}
		if bm := balanceKw.FindStringSubmatch(code); bm != nil {
			ex.balance = bm[1]
		}
		lines[i] = code + comment
	}
	ex.cfg = strings.Join(lines, "\n")
	if ex.fe == "" || len(ex.servers) == 0 {
		t.Fatalf("%s: found %d bind lines and %d active servers; want at least one of each", name, len(bindAddrs(ex.cfg)), len(ex.servers))
	}
	return ex
}

func TestExamplesCheck(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"pgsql.cfg", "mysql.cfg", "mariadb.cfg"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(examplesDir, name)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the shipped example is missing: %v", err)
			}
			stdout, stderr, code := runPivotd(t, nil, "-c", "-f", path)
			if code != 0 || strings.TrimSpace(stdout) != "Configuration file is valid" {
				t.Errorf("pivotd -c -f %s: status %d, stdout %q; want 0 and %q\nstderr:\n%s",
					path, code, stdout, "Configuration file is valid", stderr)
			}
		})
	}
}

func TestExamplePgsqlRoundRobin(t *testing.T) {
	t.Parallel()
	ex := loadExample(t, "pgsql.cfg")
	if ex.balance != "roundrobin" {
		t.Fatalf("pgsql.cfg balances with %q; this test expects roundrobin", ex.balance)
	}
	startPivotOpts(t, ex.cfg, pivotOpts{})
	// One full cycle is total weight / gcd connections, each server
	// getting weight / gcd of them; check two cycles, counting after each.
	g := 0
	for _, w := range ex.weights {
		g = gcdInt(g, w)
	}
	cycle := 0
	for _, w := range ex.weights {
		cycle += w / g
	}
	got := map[string]int{}
	for round := 1; round <= 2; round++ {
		for _, name := range sequence(t, ex.fe, cycle) {
			got[name]++
		}
		for i, b := range ex.servers {
			if want := round * ex.weights[i] / g; got[b.Name] != want {
				t.Errorf("after %d connections %s got %d; want %d (all: %v)", round*cycle, b.Name, got[b.Name], want, got)
			}
		}
	}
	for _, b := range ex.backups {
		if got[b.Name] != 0 {
			t.Errorf("backup %s got %d connections while the actives are up; want 0", b.Name, got[b.Name])
		}
	}
}

func gcdInt(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func TestExampleMysqlLeastconn(t *testing.T) {
	t.Parallel()
	ex := loadExample(t, "mysql.cfg")
	if ex.balance != "leastconn" {
		t.Fatalf("mysql.cfg balances with %q; this test expects leastconn", ex.balance)
	}
	for i, w := range ex.weights {
		if w != ex.weights[0] {
			t.Fatalf("mysql.cfg: server %s has weight %d, %s has %d; this test expects equal weights", ex.servers[i].Name, w, ex.servers[0].Name, ex.weights[0])
		}
	}
	startPivotOpts(t, ex.cfg, pivotOpts{})
	n := len(ex.servers)
	h := newHolder(t, ex.fe)
	var want []string
	for _, b := range ex.servers {
		want = append(want, b.Name)
	}
	slices.Sort(want)
	for round := 1; round <= 2; round++ {
		if names := h.holdSorted(n); !slices.Equal(names, want) {
			t.Fatalf("round %d of %d held connections went to %q; want one on each of %q", round, n, names, want)
		}
	}
	for i, b := range ex.servers {
		h.release(b.Name)
		waitActive(t, b, 1)
		if got := h.hold(); got != b.Name {
			t.Errorf("step %d: new connection went to %s; want %s, the least loaded", i+1, got, b.Name)
		}
	}
}
