package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Reload (the `reload` command and SIGHUP): the configuration is read
// again and the difference applied in place. Sessions open across it go
// on, even on a frontend and backend it removes; runtime state survives;
// no client of a kept frontend is refused; a bad configuration changes
// nothing.

// greet connects to addr and returns the backend's greeting line.
func greet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	return bufio.NewReader(c).ReadString('\n')
}

// heldSession is a connection kept open across a change.
type heldSession struct {
	c net.Conn
	r *bufio.Reader
}

func holdSession(t *testing.T, addr, want string) *heldSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &heldSession{c: c, r: bufio.NewReader(c)}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if g, _ := h.r.ReadString('\n'); g != want+"\n" {
		t.Fatalf("held session on %s greeted %q; want %s", addr, g, want)
	}
	return h
}

func (h *heldSession) echo(t *testing.T, what string) {
	t.Helper()
	io.WriteString(h.c, what+"\n")
	h.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if l, err := h.r.ReadString('\n'); l != what+"\n" {
		t.Errorf("held session: sent %q, got %q (%v)", what, l, err)
	}
}

func TestReloadAppliesTheDifference(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := map[string]*backend{}
	for _, n := range []string{"s1", "s2", "s3", "s4", "s5", "dyn"} {
		b[n] = startBackend(t, n)
	}
	v := vars{"DIR": dir, "X": freeAddr(t), "Y": freeAddr(t), "Z": freeAddr(t), "W": freeAddr(t)}
	for n, be := range b {
		v[strings.ToUpper(n)] = be.Addr
	}
	head := `
global
    stats socket $DIR/admin.sock level admin
` + baseDefaults
	cfgA := head + `
frontend fe1
    bind $X
    default_backend be1
backend be1
    server s1 $S1
    server s2 $S2
frontend fe2
    bind $Y
    default_backend be2
backend be2
    server s3 $S3
`
	cfgB := head + `
frontend fe1
    bind $X
    bind $Z
    default_backend be1
backend be1
    server s1 $S1
    server s2 $S2
    server s4 $S4 weight 3
frontend fe3
    bind $W
    default_backend be3
backend be3
    server s5 $S5
`
	p := startPivotOpts(t, expand(cfgA, v), pivotOpts{})
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	write := func(cfg string) {
		t.Helper()
		if err := os.WriteFile(p.Config, []byte(expand(cfg, v)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Runtime state: s2 in maintenance, s1's weight set, a server added.
	for _, cmd := range []string{"set server be1/s2 state maint", "set server be1/s1 weight 5",
		"add server be1/dyn " + b["dyn"].Addr, "set server be1/dyn state ready"} {
		if out := adminSend(t, sock, cmd+"\n"); strings.TrimSpace(out) != "" && !strings.Contains(out, "New server registered") {
			t.Fatalf("%s: %q", cmd, out)
		}
	}
	held1 := holdSession(t, v["X"], "s1")
	held2 := holdSession(t, v["Y"], "s3")

	// Clients of fe1 throughout.
	load := startClients(3, func() error {
		g, err := greet(v["X"])
		if err == nil && g != "s1\n" && g != "dyn\n" && g != "s4\n" {
			err = fmt.Errorf("greeted by %q", g)
		}
		return err
	})

	write(cfgB)
	out := adminSend(t, sock, "reload\n")
	t.Logf("reload answered:\n%s", out)
	for _, want := range []string{"Configuration reloaded:", "backend be1: server s4 added", "frontend fe1: bind " + v["Z"] + " added",
		"backend be3 added", "frontend fe3 added", "backend be2 removed", "frontend fe2 removed"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("reload answer lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s1") || strings.Contains(out, "s2") {
		t.Errorf("reload reports unchanged servers as changed:\n%s", out)
	}
	// Runtime state survived; the new parts serve; the removed ones do not.
	stat := adminSend(t, sock, "show stat be1 4 -1\n")
	for _, want := range []string{",s2,", ",dyn,", ",s4,"} {
		if !strings.Contains(stat, want) {
			t.Errorf("show stat lacks %s after the reload:\n%s", want, stat)
		}
	}
	if !strings.Contains(stat, ",s2,") || !strings.Contains(strings.Split(stat[strings.Index(stat, ",s2,"):], "\n")[0], "MAINT") {
		t.Errorf("s2 left maintenance in the reload:\n%s", stat)
	}
	if w := adminSend(t, sock, "get weight be1/s1\n"); w != "5 (initial 1)\n\n" {
		t.Errorf("s1's runtime weight after the reload: %q", w)
	}
	for addr, want := range map[string]string{v["W"]: "s5\n"} {
		if g, err := greet(addr); g != want {
			t.Errorf("new frontend %s greeted %q (%v)", addr, g, err)
		}
	}
	waitFor(t, 5*time.Second, func() error {
		seen := map[string]bool{}
		for range 12 {
			g, _ := greet(v["Z"])
			seen[g] = true
		}
		if !seen["s4\n"] {
			return fmt.Errorf("the new bind never reached the new server s4: %v", seen)
		}
		return nil
	})
	if _, err := greet(v["Y"]); err == nil {
		t.Errorf("the removed frontend still accepts on %s", v["Y"])
	}
	held1.echo(t, "across the reload")
	held2.echo(t, "on a removed frontend and backend")

	// A bad configuration changes nothing, by command or by SIGHUP.
	write(cfgB + "backend broken\n    server x 127.0.0.1:1 bogus-keyword\n")
	out = adminSend(t, sock, "reload\n")
	if !strings.HasPrefix(out, "Reload refused, the running configuration is unchanged:\n") || !strings.Contains(out, "bogus-keyword") {
		t.Errorf("a bad configuration was not refused with its error:\n%s", out)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, func() error {
		if !strings.Contains(p.Stderr.String(), "reload refused: 1 error(s) in the configuration") {
			return fmt.Errorf("no refusal logged; stderr:\n%s", p.Stderr)
		}
		return nil
	})
	// A configuration that parses but cannot be applied (a new bind on
	// an address another program holds) changes nothing either.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	write(cfgB + "frontend clash\n    bind " + busy.Addr().String() + "\n    default_backend be1\n")
	out = adminSend(t, sock, "reload\n")
	if !strings.HasPrefix(out, "Reload refused, the running configuration is unchanged:\n") || !strings.Contains(out, busy.Addr().String()) {
		t.Errorf("a bind that fails was not refused naming its address:\n%s", out)
	}
	if g, err := greet(v["W"]); g != "s5\n" {
		t.Errorf("after refused reloads fe3 greets %q (%v)", g, err)
	}

	// SIGHUP: a changed weight in the configuration replaces the runtime one.
	write(strings.Replace(cfgB, "server s1 $S1", "server s1 $S1 weight 2", 1))
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, func() error {
		if !strings.Contains(p.Stderr.String(), "reload: backend be1: server s1 changed") {
			return fmt.Errorf("no reload logged; stderr:\n%s", p.Stderr)
		}
		return nil
	})
	if w := adminSend(t, sock, "get weight be1/s1\n"); w != "2 (initial 2)\n\n" {
		t.Errorf("s1's weight after the configuration changed it: %q", w)
	}
	// pivotctl reload: what changed on stdout, a refusal as an error.
	ctl := func() (string, string, int) {
		cmd := exec.Command(pivotctlBin, "--socket", sock, "reload")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return stdout.String(), stderr.String(), code
	}
	write(cfgB)
	if out, errOut, code := ctl(); code != 0 || out != "backend be1: server s1 changed\n" {
		t.Errorf("pivotctl reload: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	write(cfgB + "backend be1\n")
	if out, errOut, code := ctl(); code != 1 || !strings.Contains(errOut, "be1") {
		t.Errorf("pivotctl reload of a bad configuration: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	first := load.stop()
	t.Logf("%d connections to fe1 across four reloads, %d failed", load.ok.Load(), load.fails.Load())
	if load.fails.Load() > 0 {
		t.Errorf("%d connections to fe1 failed; first: %v", load.fails.Load(), first)
	}
}
