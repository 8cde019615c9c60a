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
	_, dir, v := startAdmin(t, "")
	sock := filepath.Join(dir, "admin.sock")
	out, err := runScript(t, sock, nil, "failover.sh", "be", "s2")
	if err != nil {
		t.Fatalf("failover.sh: %v\n%s", err, out)
	}
	// s2 already took traffic: only s1 changes; the table follows.
	for _, w := range []string{"be/s1: no check -> MAINT", "s2       no check"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	// The backup s2 now takes every connection.
	if got := who(t, v["fe"]); got != "s1" { // s2 is the same echo backend named s1
		t.Errorf("after the failover: %q", got)
	}
	if got := adminSend(t, sock, "show stat\n"); !strings.Contains(got, "be,s1,") || !strings.Contains(got, ",MAINT,") {
		t.Errorf("s1 not in maintenance:\n%s", got)
	}
}
