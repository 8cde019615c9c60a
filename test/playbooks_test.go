package test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The scripts of docs/examples that the playbooks use, run as an operator
// would run them: against pivotd, with pivotctl on the PATH.

// runScript runs docs/examples/NAME with args, pivotctl on the PATH and
// PIVOT_SOCKET set to sock.
func runScript(t *testing.T, sock string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "docs", "examples", name), args...)
	cmd.Env = append(os.Environ(), append(env,
		"PATH="+filepath.Dir(pivotctlBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PIVOT_SOCKET="+sock)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestMaintenanceScript(t *testing.T) {
	t.Parallel()
	_, dir, v := startAdmin(t, "")
	sock := filepath.Join(dir, "admin.sock")
	// A session on s1 that ends a moment after the drain started: the
	// script must wait for it, and the "upgrade" must find s1 unused.
	c, err := net.Dial("tcp", v["fe"])
	if err != nil {
		t.Fatal(err)
	}
	if greet, _ := bufio.NewReader(c).ReadString('\n'); greet != "s1\n" {
		t.Fatalf("greeting %q", greet)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		c.Close()
	}()
	marker := filepath.Join(dir, "upgraded")
	out, err := runScript(t, sock, nil, "maintenance.sh", "be/s1", "sh", "-c",
		"pivotctl show stat --csv --server be/s1 | grep -q ',MAINT,' && touch "+marker)
	if err != nil {
		t.Fatalf("maintenance.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the upgrade step did not run with s1 in maintenance:\n%s", out)
	}
	for _, w := range []string{"be/s1: drained in", "now in maintenance", "be/s1: back in service"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if got := adminSend(t, sock, "show stat\n"); !strings.Contains(got, "be,s1,") || strings.Contains(got, ",MAINT,") {
		t.Errorf("s1 is not back in service:\n%s", got)
	}
	// A failing upgrade stops the script with the server left out.
	out, err = runScript(t, sock, nil, "maintenance.sh", "be/s1", "false")
	if err == nil || strings.Contains(out, "back in service") {
		t.Errorf("a failed upgrade: err %v\n%s", err, out)
	}
}

func TestFailoverScript(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, s2 := startBackend(t, "s1"), startBackend(t, "s2")
	v := vars{"fe": freeAddr(t), "dir": dir, "s1": s1.Addr, "s2": s2.Addr}
	startPivot(t, `
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`
listen be
    bind $fe
    balance first
    server s1 $s1
    server s2 $s2
`, v)
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	held := dial(t, v["fe"])
	defer held.close()
	if g := held.greeting(); g != "s1" {
		t.Fatalf("before the failover a connection reached %q", g)
	}

	out, err := runScript(t, sock, nil, "failover.sh", "be", "s2")
	if err != nil {
		t.Fatalf("failover.sh: %v\n%s", err, out)
	}
	// s2 already took traffic: only s1 changes, its session is cut,
	// and the table follows.
	for _, w := range []string{"be/s1: no check -> MAINT, 1 sessions cut", "s2       no check"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	held.expectEOF(ioTimeout)
	for range 4 {
		if got := who(t, v["fe"]); got != "s2" {
			t.Fatalf("after the failover a connection reached %q", got)
		}
	}

	// Back to s1, keeping s2's sessions.
	kept := dial(t, v["fe"])
	defer kept.close()
	kept.greeting()
	out, err = runScript(t, sock, []string{"KEEP_SESSIONS=1"}, "failover.sh", "be", "s1")
	if err != nil {
		t.Fatalf("failover.sh with KEEP_SESSIONS: %v\n%s", err, out)
	}
	for _, w := range []string{"be/s1: MAINT -> no check", "be/s2: no check -> MAINT"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	kept.roundTrip("still here\n")
	if got := who(t, v["fe"]); got != "s1" {
		t.Errorf("after failing back a connection reached %q", got)
	}
}
