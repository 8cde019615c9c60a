package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pivotd -c: every error named with its file, line and word; several
// files and directories read in order; ${ENV} expansion.

func TestConfigCheckReportsEveryError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "bad.cfg", `global
    maxconn 100
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:1
    mode http
    frobnicate yes
    default_backend nowhere
backend be
    balance fastest
    server s1 127.0.0.1:2
    server s1 127.0.0.1:3
`)
	stdout, stderr, code := runPivotd(t, nil, "-c", "-f", path)
	if code == 0 {
		t.Fatalf("pivotd -c on a bad file exited 0; want non-zero\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if strings.Contains(stdout, "valid") {
		t.Errorf("stdout %q; want no claim that the configuration is valid", stdout)
	}
	for _, tc := range []struct {
		desc string
		line int
		word string
	}{
		{"mode http refused", 10, "http"},
		{"unknown keyword", 11, "frobnicate"},
		{"undefined default_backend", 12, "nowhere"},
		{"bad balance algorithm", 14, "fastest"},
		{"duplicate server", 16, "s1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			re := regexp.QuoteMeta(path+":") + `\d+:.*` + regexp.QuoteMeta(tc.word)
			want := regexp.QuoteMeta(path+":"+itoa(tc.line)+":") + `.*` + regexp.QuoteMeta(tc.word)
			if !regexp.MustCompile(`(?m)` + want).MatchString(stderr) {
				t.Errorf("stderr has no line matching %q; lines naming %q: %q\nstderr:\n%s", want, tc.word, grepLines(stderr, re), stderr)
			}
		})
	}
	t.Run("valid lines not reported", func(t *testing.T) {
		for _, line := range []int{2, 9, 15} {
			if l := grepLines(stderr, regexp.QuoteMeta(path+":"+itoa(line)+":")); len(l) > 0 {
				t.Errorf("line %d is valid but reported: %q", line, l)
			}
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// grepLines returns the lines of text matching re.
func grepLines(text, re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if rx.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

func TestConfigCheckValid(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "ok.cfg", baseDefaults+`
listen app
    bind 127.0.0.1:1
    server s1 127.0.0.1:2 check
`)
	t.Run("prints valid", func(t *testing.T) {
		stdout, stderr, code := runPivotd(t, nil, "-c", "-f", path)
		if code != 0 || stdout != "Configuration file is valid\n" {
			t.Errorf("status %d, stdout %q; want 0 and %q\nstderr:\n%s", code, stdout, "Configuration file is valid\n", stderr)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		stdout, stderr, code := runPivotd(t, nil, "-c", "-q", "-f", path)
		if code != 0 || stdout != "" {
			t.Errorf("status %d, stdout %q; want 0 and nothing\nstderr:\n%s", code, stdout, stderr)
		}
	})
}

func TestConfigSeveralFiles(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	fe := freeAddr(t)
	dir := t.TempDir()
	front := writeFile(t, dir, "front.cfg", baseDefaults+`
frontend fe
    bind `+fe+`
    default_backend be
`)
	back := writeFile(t, dir, "back.cfg", `
backend be
    server s1 `+s1.Addr+`
`)
	t.Run("check", func(t *testing.T) {
		expectConfigValid(t, nil, front, back)
	})
	t.Run("backend alone is not enough", func(t *testing.T) {
		_, stderr, code := runPivotd(t, nil, "-c", "-f", front)
		if code == 0 || !strings.Contains(stderr, front+":") || !strings.Contains(stderr, `"be"`) {
			t.Errorf("status %d; want non-zero and an error naming %s and \"be\"\nstderr:\n%s", code, front, stderr)
		}
	})
	t.Run("error in the second file names it", func(t *testing.T) {
		bad := writeFile(t, dir, "bad.cfg", "backend be\n    server s1 "+s1.Addr+"\n    bogus-keyword 1\n")
		_, stderr, code := runPivotd(t, nil, "-c", "-f", front, "-f", bad)
		if code == 0 || !strings.Contains(stderr, bad+":3:") || !strings.Contains(stderr, "bogus-keyword") {
			t.Errorf("status %d; want non-zero and %s:3: naming bogus-keyword\nstderr:\n%s", code, bad, stderr)
		}
	})
	t.Run("runs", func(t *testing.T) {
		startPivotOpts(t, "", pivotOpts{paths: []string{front, back}})
		if got := who(t, fe); got != "s1" {
			t.Errorf("answered by %q; want s1", got)
		}
	})
}

func TestConfigDirectory(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	fe := freeAddr(t)
	dir := t.TempDir()
	// Files are read in lexical order: the defaults of 10-defaults.cfg
	// (tcplog on stdout) apply to the frontend of 20-front.cfg.
	writeFile(t, dir, "10-defaults.cfg", baseDefaults+tcplogStdout)
	writeFile(t, dir, "20-front.cfg", `
frontend fe
    bind `+fe+`
    default_backend be
`)
	writeFile(t, dir, "30-back.cfg", `
backend be
    server s1 `+s1.Addr+`
`)
	writeFile(t, dir, "README", "not a configuration file: ignored\n")
	if err := os.Mkdir(filepath.Join(dir, "sub.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("check", func(t *testing.T) {
		expectConfigValid(t, nil, dir)
	})
	t.Run("runs with the defaults of the first file", func(t *testing.T) {
		p := startPivotOpts(t, "", pivotOpts{paths: []string{dir}})
		got, port := oneSession(t, fe)
		if got != "s1" {
			t.Fatalf("answered by %q; want s1", got)
		}
		waitLine(t, p.Stdout, 3*time.Second, `^127\.0\.0\.1:`+itoa(port)+` \[.*\] fe be/s1 `)
	})
	t.Run("order matters", func(t *testing.T) {
		// A defaults section applies only to the sections after it: with
		// the files named the other way round, fe logs nothing while app2,
		// after the defaults, logs its sessions.
		dir2 := t.TempDir()
		fe2, app2 := freeAddr(t), freeAddr(t)
		writeFile(t, dir2, "10-front.cfg", baseDefaults+`
frontend fe
    bind `+fe2+`
    default_backend be
backend be
    server s1 `+s1.Addr+`
`)
		writeFile(t, dir2, "20-defaults.cfg", baseDefaults+tcplogStdout+`
listen app2
    bind `+app2+`
    server s1 `+s1.Addr+`
`)
		p := startPivotOpts(t, "", pivotOpts{paths: []string{dir2}})
		oneSession(t, fe2)
		waitActive(t, s1, 0)
		_, port := oneSession(t, app2)
		waitLine(t, p.Stdout, 3*time.Second, `^127\.0\.0\.1:`+itoa(port)+` \[.*\] app2 app2/s1 `)
		if l := matchingLines(p.Stdout, ` fe be/`); len(l) > 0 {
			t.Errorf("stdout has %q; want no tcplog line for fe (the defaults come after it)", l)
		}
	})
}

func TestConfigEnvExpansion(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	fe := freeAddr(t)
	_, fePort, _ := strings.Cut(fe, ":")
	cfg := writeFile(t, t.TempDir(), "env.cfg", baseDefaults+`
listen app
    bind 127.0.0.1:${PIVOT_TEST_FE_PORT}
    server s1 "${PIVOT_TEST_S1}" maxconn ${PIVOT_TEST_MAXCONN-10}
`)
	env := []string{"PIVOT_TEST_FE_PORT=" + fePort, "PIVOT_TEST_S1=" + s1.Addr}
	t.Run("check", func(t *testing.T) {
		expectConfigValid(t, env, cfg)
	})
	t.Run("unset variable is an error", func(t *testing.T) {
		_, stderr, code := runPivotd(t, []string{"PIVOT_TEST_S1=" + s1.Addr}, "-c", "-f", cfg)
		if code == 0 || !strings.Contains(stderr, cfg+":") || !strings.Contains(stderr, "PIVOT_TEST_FE_PORT") {
			t.Errorf("status %d; want non-zero and an error naming %s and PIVOT_TEST_FE_PORT\nstderr:\n%s", code, cfg, stderr)
		}
	})
	t.Run("runs", func(t *testing.T) {
		startPivotOpts(t, "", pivotOpts{paths: []string{cfg}, env: env, noWait: true})
		waitServes(t, fe, "s1", ioTimeout)
	})
}
