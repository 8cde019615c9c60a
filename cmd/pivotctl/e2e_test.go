package main

// End-to-end tests: build pivotctl, start a real HAProxy 2.6 with Go echo
// backends, and drive it with the binary, checking outputs and exit codes.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pivotctl and pivotd are the binaries built by TestMain.
var pivotctl, pivotd string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pivotctl-e2e")
	if err != nil {
		panic(err)
	}
	pivotctl, pivotd = filepath.Join(dir, "pivotctl"), filepath.Join(dir, "pivotd")
	for bin, pkg := range map[string]string{pivotctl: ".", pivotd: "../pivotd"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// haproxy is a running HAProxy with one admin, one operator and one TCP
// admin socket.
type haproxy struct {
	admin, oper, tcp string
	fe, feOne        string // frontend addresses: be_app (3 servers), be_one (1 server)
}

// echoBackend listens on 127.0.0.1:0, greets each client with name and
// echoes what it reads. It stops with the test.
func echoBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s\n", name)
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					c.Write(buf[:n])
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// freePort returns a port below 32768 (outside Linux's ephemeral range)
// that nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			return fmt.Sprint(p)
		}
	}
	t.Fatal("no free port")
	return ""
}

// forEachDaemon runs a test against the real HAProxy and against pivotd
// with the same configuration: pivotctl must work with both.
func forEachDaemon(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range []string{"haproxy", "pivotd"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, kind)
		})
	}
}

// startDaemon runs `haproxy -db` or pivotd with a fresh config; it is
// killed when the test ends. Without haproxy the HAProxy side is skipped,
// unless CI=true.
func startDaemon(t *testing.T, kind string) *haproxy {
	t.Helper()
	bin, args := pivotd, []string{}
	if kind == "haproxy" {
		var err error
		if bin, err = exec.LookPath("haproxy"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("haproxy is not installed (apt-get install haproxy); CI=true requires it")
			}
			t.Skip("haproxy is not installed (apt-get install haproxy); skipping the end-to-end test")
		}
		args = []string{"-db"}
	}
	dir := t.TempDir()
	h := &haproxy{
		admin: filepath.Join(dir, "admin.sock"),
		oper:  filepath.Join(dir, "oper.sock"),
		tcp:   "ipv4@127.0.0.1:" + freePort(t),
		fe:    "127.0.0.1:" + freePort(t),
		feOne: "127.0.0.1:" + freePort(t),
	}
	cfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
    stats socket %s mode 600 level operator
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe_app
    bind %s
    default_backend be_app
frontend fe_one
    bind %s
    default_backend be_one
backend be_app
    balance roundrobin
    server s1 %s check inter 500ms
    server s2 %s
    server s3 %s backup
backend be_one
    server only %s
`, h.admin, h.oper, h.tcp, h.fe, h.feOne,
		echoBackend(t, "s1"), echoBackend(t, "s2"), echoBackend(t, "s3"), echoBackend(t, "only"))
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, append(args, "-f", cfgPath)...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", kind, logs.String())
		}
	})
	waitFor(t, 5*time.Second, func() error {
		c, err := net.Dial("unix", h.admin)
		if err != nil {
			return err
		}
		c.Close()
		c, err = net.Dial("tcp", h.feOne)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return h
}

// waitFor retries try until it returns nil or d passes, then fails the test
// with try's last error.
func waitFor(t *testing.T, d time.Duration, try func() error) {
	t.Helper()
	var err error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if err = try(); err == nil {
			return
		}
	}
	t.Fatalf("after %v: %v", d, err)
}

type result struct {
	stdout, stderr string
	code           int
}

// runCtl runs pivotctl with args (and stdin, if not empty).
func runCtl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(pivotctl, args...)
	cmd.Env = append(os.Environ(), "PIVOT_SOCKET=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// expect runs pivotctl and checks its exit code and that stdout and stderr
// contain the given texts.
func expect(t *testing.T, code int, stdout, stderr string, args ...string) result {
	t.Helper()
	r := runCtl(t, "", args...)
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("pivotctl %s\nexit %d; want %d\nstdout:\n%s\nwant it to contain %q\nstderr:\n%s\nwant it to contain %q",
			strings.Join(args, " "), r.code, code, r.stdout, stdout, r.stderr, stderr)
	}
	return r
}

// serverStatus reads one server's status with --csv.
func serverStatus(t *testing.T, sock, ref string) string {
	t.Helper()
	r := expect(t, 0, "", "", "-s", sock, "show", "stat", "--csv", "--server", ref)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("show stat --server %s: %q", ref, r.stdout)
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	vals := strings.Split(lines[1], ",")
	for i, c := range cols {
		if c == "status" {
			return vals[i]
		}
	}
	t.Fatalf("no status column in %q", lines[0])
	return ""
}

func TestShowStat(t *testing.T) { forEachDaemon(t, testShowStat) }

func testShowStat(t *testing.T, kind string) {
	h := startDaemon(t, kind)
	r := expect(t, 0, "FRONTEND", "", "-s", h.admin, "show", "stat")
	for _, want := range []string{"fe_app", "BACKEND  SERVER", "be_app", "s1", "backup", "be_one", "only", "no check"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	r = expect(t, 0, "be_app", "", "-s", h.admin, "show", "stat", "-b", "be_app")
	if strings.Contains(r.stdout, "be_one") || strings.Contains(r.stdout, "fe_app") {
		t.Errorf("-b be_app shows other proxies:\n%s", r.stdout)
	}
	r = expect(t, 0, "# pxname,svname,", "", "-s", h.admin, "show", "stat", "--csv", "-b", "be_one")
	if n := strings.Count(r.stdout, "\n"); n != 3 {
		t.Errorf("--csv -b be_one: %d lines; want header, only, BACKEND:\n%s", n, r.stdout)
	}
	expect(t, 0, `"svname": "only"`, "", "-s", h.admin, "show", "stat", "--json", "--server", "be_one/only")
	expect(t, 1, "", `no backend named "nosuch"`, "-s", h.admin, "show", "stat", "-b", "nosuch")
	expect(t, 2, "", "exclude each other", "-s", h.admin, "show", "stat", "--csv", "--json")
	// TCP sockets, both spellings, and several daemons at once.
	tcp := "tcp://" + strings.TrimPrefix(h.tcp, "ipv4@")
	expect(t, 0, "be_one", "", "-s", h.tcp, "show", "stat", "-b", "be_one")
	r = expect(t, 0, "SOCKET", "", "-s", h.admin, "-s", tcp, "show", "stat", "-b", "be_one")
	if !strings.Contains(r.stdout, h.admin) || !strings.Contains(r.stdout, tcp) {
		t.Errorf("no per-socket rows:\n%s", r.stdout)
	}
	expect(t, 0, "# socket,pxname,", "", "-s", h.admin, "-s", tcp, "show", "stat", "--csv")
	// PIVOT_SOCKET
	cmd := exec.Command(pivotctl, "show", "stat", "-b", "be_one")
	cmd.Env = append(os.Environ(), "PIVOT_SOCKET="+h.admin)
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "only") {
		t.Errorf("PIVOT_SOCKET: %v\n%s", err, out)
	}
	// --watch redraws in place, --count bounds it.
	r = expect(t, 0, "every 100ms", "", "-s", h.admin, "show", "stat", "--watch", "100ms", "--count", "3")
	if n := strings.Count(r.stdout, clearScreen); n != 3 {
		t.Errorf("--watch --count 3 cleared the screen %d times", n)
	}
	expect(t, 0, "every 2s", "", "-s", h.admin, "show", "stat", "-w", "--count", "1", "-b", "be_one")
}

func TestServerCommands(t *testing.T) { forEachDaemon(t, testServerCommands) }

func testServerCommands(t *testing.T, kind string) {
	h := startDaemon(t, kind)
	s := []string{"-s", h.admin}
	run := func(code int, stderr string, args ...string) {
		t.Helper()
		expect(t, code, "", stderr, append(s, args...)...)
	}

	run(0, "", "server", "drain", "be_app/s2")
	if got := serverStatus(t, h.admin, "be_app/s2"); got != "DRAIN" {
		t.Errorf("after drain: status %q", got)
	}
	run(0, "", "server", "maint", "be_app/s2")
	if got := serverStatus(t, h.admin, "be_app/s2"); got != "MAINT" {
		t.Errorf("after maint: status %q", got)
	}
	run(0, "", "server", "ready", "be_app/s2")
	if got := serverStatus(t, h.admin, "be_app/s2"); got != "no check" {
		t.Errorf("after ready: status %q", got)
	}
	run(0, "", "server", "weight", "be_app/s2", "50")
	expect(t, 0, "50 (initial 1)", "", "-s", h.admin, "exec", "get weight be_app/s2")
	run(0, "", "server", "weight", "be_app/s2", "100%")
	expect(t, 0, "1 (initial 1)", "", "-s", h.admin, "exec", "get weight be_app/s2")
	run(1, "Absolute weight can only be between 0 and 256 inclusive.", "server", "weight", "be_app/s2", "300")
	run(2, "weight \"abc\"", "server", "weight", "be_app/s2", "abc")

	// refusals: HAProxy's words, then pivotctl's context
	expect(t, 1, "", "No such server.\npivotctl: backend \"be_app\": no server named \"node9\"\n", "-s", h.admin, "server", "drain", "be_app/node9")
	run(1, `no backend named "nope"`, "server", "maint", "nope/s1")
	expect(t, 1, "", "Permission denied", "-s", h.oper, "server", "drain", "be_app/s2")

	// add, then delete: maint first, as HAProxy requires
	addr := echoBackend(t, "new1")
	run(0, "", "server", "add", "be_app/new1", addr, "weight", "5")
	if got := serverStatus(t, h.admin, "be_app/new1"); got != "MAINT" {
		t.Errorf("added server: status %q; HAProxy starts it in MAINT", got)
	}
	run(1, `backend "be_app" already has a server named "new1"`, "server", "add", "be_app/new1", addr)
	run(0, "", "server", "ready", "be_app/new1")
	run(1, "Only servers in maintenance mode can be deleted.\npivotctl: server be_app/new1 is not in maintenance", "server", "del", "be_app/new1")
	run(0, "", "server", "maint", "be_app/new1")
	run(0, "", "server", "del", "be_app/new1")
	run(1, "No such server.", "server", "del", "be_app/new1")

	// usage errors: nothing is sent
	run(2, "want BACKEND/SERVER", "server", "drain", "be_app")
	run(2, "usage: pivotctl server weight", "server", "weight", "be_app/s1")
	run(2, "unknown command \"frob\"", "server", "frob")
	run(2, "", "show", "stat", "--nosuch")
	run(2, "must come before the arguments", "sessions", "be_one/only", "--json")

	// frontends: disable closes the listener, enable reopens it
	run(0, "", "frontend", "disable", "fe_one")
	if c, err := net.Dial("tcp", h.feOne); err == nil {
		c.Close()
		t.Error("fe_one still accepts connections after disable")
	}
	expect(t, 0, "PAUSED", "", "-s", h.admin, "show", "stat")
	run(0, "", "frontend", "disable", "fe_one") // already disabled: fine for scripts
	run(0, "", "frontend", "enable", "fe_one")
	waitFor(t, 2*time.Second, func() error {
		c, err := net.Dial("tcp", h.feOne)
		if err == nil {
			c.Close()
		}
		return err
	})
	run(1, `no frontend named "nope"`, "frontend", "enable", "nope")
}

func TestSessionsAndKill(t *testing.T) { forEachDaemon(t, testSessionsAndKill) }

func testSessionsAndKill(t *testing.T, kind string) {
	h := startDaemon(t, kind)
	c, err := net.Dial("tcp", h.feOne)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	if greet, err := rd.ReadString('\n'); err != nil || greet != "only\n" {
		t.Fatalf("greeting %q, %v", greet, err)
	}
	local := c.LocalAddr().String()

	r := expect(t, 0, local, "", "-s", h.admin, "sessions", "be_one/only")
	if !strings.Contains(r.stdout, "tcpv4") || !strings.Contains(r.stdout, "fe_one") {
		t.Errorf("sessions table:\n%s", r.stdout)
	}
	expect(t, 0, `"src": "`+local+`"`, "", "-s", h.admin, "sessions", "--json", "be_one/only")
	expect(t, 0, "", "no session on be_app/s2", "-s", h.admin, "sessions", "be_app/s2")
	expect(t, 1, "", `backend "be_one": no server named "nope"`, "-s", h.admin, "sessions", "be_one/nope")

	expect(t, 0, "", "", "-s", h.admin, "kill", "be_one/only")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := rd.ReadString('\n'); err == nil {
		t.Error("client still connected after kill")
	}
	waitFor(t, 3*time.Second, func() error {
		r := runCtl(t, "", "-s", h.admin, "sessions", "be_one/only")
		if strings.Contains(r.stdout, local) {
			return fmt.Errorf("session still listed:\n%s", r.stdout)
		}
		return nil
	})
	expect(t, 1, "", "No such server.", "-s", h.admin, "kill", "be_one/nope")
}

func TestExec(t *testing.T) { forEachDaemon(t, testExec) }

func testExec(t *testing.T, kind string) {
	h := startDaemon(t, kind)
	expect(t, 0, "admin\n", "", "-s", h.admin, "exec", "show cli level")
	r := expect(t, 0, "", "", "-s", h.admin, "exec", "--raw", "show cli level")
	if r.stdout != "admin\n\n" {
		t.Errorf("--raw: %q; want HAProxy's exact bytes", r.stdout)
	}
	version := map[string]string{"haproxy": "2.6", "pivotd": "dev"}[kind] // pivotd built without -ldflags
	expect(t, 0, version, "", "-s", h.admin, "exec", "show", "version")   // words joined
	expect(t, 1, "", "Unknown command", "-s", h.admin, "exec", "show foo")
	expect(t, 1, "", "Permission denied", "-s", h.oper, "exec", "set server be_app/s1 state drain")

	script := "# drain then maint\nset server be_app/s2 state drain\n\nget weight be_app/s2\nset server be_app/nope state maint\nshow cli level\n"
	for _, args := range [][]string{{"-s", h.admin, "exec", "-"}, {"-s", h.admin, "exec"}} {
		r := runCtl(t, script, args...)
		if r.code != 1 || r.stdout != "1 (initial 1)\nadmin\n" || !strings.Contains(r.stderr, "No such server.") {
			t.Errorf("pivotctl %s with a script: exit %d\nstdout %q\nstderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	r = expect(t, 0, "", "", "-s", h.admin, "-s", h.tcp, "exec", "show cli level")
	if r.stdout != "["+h.admin+"] admin\n["+h.tcp+"] admin\n" {
		t.Errorf("several sockets: %q", r.stdout)
	}
}

func TestUnreachableAndUsage(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "none.sock")
	expect(t, 3, "", "dial", "-s", missing, "show", "stat")
	expect(t, 3, "", "", "-s", "tcp://127.0.0.1:1", "exec", "show info")
	expect(t, 2, "", "unknown scheme", "-s", "abns@x", "show", "stat")
	expect(t, 2, "", "unknown command", "frobnicate")
	expect(t, 2, "", "usage: pivotctl exec", "-s", missing, "exec")
	expect(t, 0, "completion", "", "--help")
	expect(t, 0, "complete -o bashdefault", "", "completion", "bash")
	expect(t, 0, "#compdef pivotctl", "", "completion", "zsh")
	expect(t, 0, "server", "", "--generate-bash-completion")
	expect(t, 0, "drain", "", "server", "--generate-bash-completion")
}

// Several daemons: each is reported, the exit code is the worst.
func TestSeveralDaemons(t *testing.T) {
	t.Parallel()
	h1, h2 := startDaemon(t, "haproxy"), startDaemon(t, "pivotd")
	missing := filepath.Join(t.TempDir(), "none.sock")
	expect(t, 0, "", "", "-s", h1.admin, "-s", h2.admin, "server", "drain", "be_app/s2")
	for _, h := range []*haproxy{h1, h2} {
		if got := serverStatus(t, h.admin, "be_app/s2"); got != "DRAIN" {
			t.Errorf("%s: status %q", h.admin, got)
		}
	}
	r := expect(t, 3, "", "["+missing+"] pivotctl: socket", "-s", h1.admin, "-s", missing, "-s", h2.oper, "server", "ready", "be_app/s2")
	if !strings.Contains(r.stderr, "["+h2.oper+"] Permission denied") {
		t.Errorf("stderr lacks the operator socket's refusal:\n%s", r.stderr)
	}
	if got := serverStatus(t, h1.admin, "be_app/s2"); got != "no check" {
		t.Errorf("reachable daemon not changed: %q", got)
	}
}

// TestDrainAndWait: drain --wait returns once the last session ended (the
// daemon waits), exits 4 with what is left at the deadline, cuts what is
// left with --kill-after, and --then maint follows; ready returns the
// server. pivotd only: HAProxy 2.6 has no `wait`.
func TestDrainAndWait(t *testing.T) {
	t.Parallel()
	h := startDaemon(t, "pivotd")
	hold := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", h.feOne)
		if err != nil {
			t.Fatal(err)
		}
		if greet, err := bufio.NewReader(c).ReadString('\n'); err != nil || greet != "only\n" {
			t.Fatalf("greeting %q, %v", greet, err)
		}
		return c
	}

	// A session still open at the deadline: exit 4, the count on stderr.
	c := hold()
	expect(t, 4, "", "be_one/only: 1 sessions still open and 0 queued after", "-s", h.admin, "drain", "--wait", "--timeout", "300ms", "be_one/only")
	if got := serverStatus(t, h.admin, "be_one/only"); got != "DRAIN" {
		t.Errorf("after drain: status %q", got)
	}
	// The session was not cut: it still echoes.
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("drained session: %q, %v", line, err)
	}

	// The session ends while drain waits: it returns then, with maint.
	go func(c net.Conn) {
		time.Sleep(300 * time.Millisecond)
		c.Close()
	}(c)
	start := time.Now()
	expect(t, 0, "be_one/only: drained in", "", "-s", h.admin, "drain", "--wait", "--timeout", "10s", "--then", "maint", "be_one/only")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("drain --wait took %s after the last session ended at 300ms", took)
	}
	if got := serverStatus(t, h.admin, "be_one/only"); got != "MAINT" {
		t.Errorf("after --then maint: status %q", got)
	}
	expect(t, 0, "", "", "-s", h.admin, "ready", "be_one/only")
	if got := serverStatus(t, h.admin, "be_one/only"); got != "no check" {
		t.Errorf("after ready: status %q", got)
	}

	// --kill-after cuts what is left, then the wait succeeds.
	c2 := hold()
	defer c2.Close()
	expect(t, 0, "(1 sessions cut after 200ms)", "", "-s", h.admin, "drain", "--wait", "--kill-after", "200ms", "--timeout", "10s", "be_one/only")
	c2.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Error("the session survived --kill-after")
	}

	expect(t, 2, "", "--then and --kill-after need --wait", "-s", h.admin, "drain", "--then", "maint", "be_one/only")
	expect(t, 2, "", `only maint is possible`, "-s", h.admin, "drain", "--wait", "--then", "ready", "be_one/only")
	expect(t, 1, "", `no server named "nope"`, "-s", h.admin, "drain", "--wait", "be_one/nope")
}

// TestFailover: one command sends every new connection of a backend to
// the chosen server and reports what changed; the old server's sessions
// are cut unless --keep-sessions. pivotd only (a pivot command).
func TestFailover(t *testing.T) {
	t.Parallel()
	h := startDaemon(t, "pivotd")
	c, err := net.Dial("tcp", h.fe) // roundrobin: the first connection reaches s1
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	if greet, err := rd.ReadString('\n'); err != nil || greet != "s1\n" {
		t.Fatalf("greeting %q, %v", greet, err)
	}
	// s1's status before is UP, or UP 1/3 until its first check.
	r := expect(t, 0, "-> MAINT, 1 sessions cut", "", "-s", h.admin, "failover", "--to", "s2", "be_app")
	if !strings.HasPrefix(r.stdout, "be_app/s1: UP") || !strings.Contains(r.stdout, "be_app/s3: no check -> MAINT") {
		t.Errorf("the report:\n%s", r.stdout)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := rd.ReadString('\n'); err == nil {
		t.Error("the session on the old server survived the failover")
	}
	for range 4 {
		conn, err := net.Dial("tcp", h.fe)
		if err != nil {
			t.Fatal(err)
		}
		greet, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if greet != "s2\n" {
			t.Fatalf("after the failover a connection reached %q", greet)
		}
	}
	for ref, want := range map[string]string{"be_app/s1": "MAINT", "be_app/s2": "no check", "be_app/s3": "MAINT"} {
		if got := serverStatus(t, h.admin, ref); got != want {
			t.Errorf("%s: status %q; want %q", ref, got, want)
		}
	}
	expect(t, 0, "Nothing to change", "", "-s", h.admin, "failover", "--to", "s2", "be_app")

	// Back to s1, keeping the sessions of s2.
	c2, err := net.Dial("tcp", h.fe)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	rd2 := bufio.NewReader(c2)
	if greet, _ := rd2.ReadString('\n'); greet != "s2\n" {
		t.Fatalf("greeting %q", greet)
	}
	r = expect(t, 0, "be_app/s1: MAINT -> ", "", "-s", h.admin, "failover", "--keep-sessions", "--to", "s1", "be_app")
	if strings.Contains(r.stdout, "cut") {
		t.Errorf("--keep-sessions cut sessions:\n%s", r.stdout)
	}
	c2.SetDeadline(time.Now().Add(2 * time.Second))
	io.WriteString(c2, "still here\n")
	if line, err := rd2.ReadString('\n'); err != nil || line != "still here\n" {
		t.Errorf("kept session: %q, %v", line, err)
	}

	expect(t, 1, "", `backend "be_app": no server named "nope"`, "-s", h.admin, "failover", "--to", "nope", "be_app")
	expect(t, 2, "", "", "-s", h.admin, "failover", "be_app")
}
