package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// SIGUSR2: a zero-downtime binary upgrade. pivotd starts the binary at its
// own path again (the test replaces the file, as a package upgrade does),
// hands it the listening sockets, and finishes its sessions while the new
// process serves. No connection attempt may be refused meanwhile, a
// session open across the upgrade goes on, and the runtime state follows.

// copyFile copies src to dst with mode 0755, through a temporary file
// renamed over dst, as package managers replace binaries.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// exitedPID reports whether process pid has exited (gone, or a zombie
// waiting to be reaped by the test harness).
func exitedPID(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

func readPID(path string) int {
	b, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func TestUpgradeHandsOverSockets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "pivotd")
	copyFile(t, pivotdBin, bin)
	pidfile := filepath.Join(dir, "pivotd.pid")
	fe := freeAddr(t)
	s1, s2 := startBackend(t, "s1"), startBackend(t, "s2")
	cfg := expand(`
global
    stats socket $DIR/admin.sock level admin
    hard-stop-after 20s
`+baseDefaults+`
listen app
    bind $FE
    server s1 $S1
    server s2 $S2
`, vars{"DIR": dir, "FE": fe, "S1": s1.Addr, "S2": s2.Addr})
	p := startPivotOpts(t, cfg, pivotOpts{bin: bin, args: []string{"-p", pidfile}})
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	oldPID := p.cmd.Process.Pid
	var newPID atomic.Int64
	t.Cleanup(func() { // before the harness waits for the old process
		if pid := int(newPID.Load()); pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
			waitFor(t, 5*time.Second, func() error {
				if !exitedPID(pid) {
					return fmt.Errorf("pid %d still runs", pid)
				}
				return nil
			})
		}
	})
	// Runtime state the new process must keep.
	adminSend(t, sock, "set server app/s2 state drain\n")

	// A session across the upgrade.
	held, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldR := bufio.NewReader(held)
	if greet, _ := heldR.ReadString('\n'); greet != "s1\n" {
		t.Fatalf("held session greeted %q", greet)
	}

	// Load: sequential connections from four clients, each must be
	// greeted by s1 (s2 is draining) and echo a line.
	load := startClients(4, func() error {
		c, err := net.DialTimeout("tcp", fe, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		r := bufio.NewReader(c)
		if g, err := r.ReadString('\n'); err != nil || g != "s1\n" {
			return fmt.Errorf("greeting %q, %v", g, err)
		}
		io.WriteString(c, "ping\n")
		if l, err := r.ReadString('\n'); err != nil || l != "ping\n" {
			return fmt.Errorf("echo %q, %v", l, err)
		}
		return nil
	})
	waitFor(t, 5*time.Second, func() error {
		if load.ok.Load() < 50 {
			return fmt.Errorf("%d connections so far", load.ok.Load())
		}
		return nil
	})
	copyFile(t, pivotdBin, bin) // the "new version"
	before := load.ok.Load()
	if err := p.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, func() error {
		pid := readPID(pidfile)
		if pid == 0 || pid == oldPID {
			return fmt.Errorf("pidfile still says %d; stderr:\n%s", pid, p.Stderr)
		}
		newPID.Store(int64(pid))
		out, err := tryAdminSend(sock, "show info\n")
		if err != nil || !strings.Contains(out, "Pid: "+strconv.Itoa(pid)+"\n") {
			return fmt.Errorf("admin socket not yet served by pid %d: %v %q", pid, err, out)
		}
		return nil
	})
	// The new process serves, with the state the old one had.
	waitFor(t, 5*time.Second, func() error {
		if n := load.ok.Load(); n < before+200 {
			return fmt.Errorf("only %d connections since the upgrade", n-before)
		}
		return nil
	})
	if out := adminSend(t, sock, "show stat app 4 -1\n"); !strings.Contains(out, ",s2,") || !strings.Contains(out, "DRAIN") {
		t.Errorf("s2 lost its drain across the upgrade:\n%s", out)
	}
	// The held session still works on the old process, which waits for
	// it before exiting.
	if exitedPID(oldPID) {
		t.Fatalf("the old pivotd exited with a session open")
	}
	io.WriteString(held, "still here\n")
	held.SetReadDeadline(time.Now().Add(2 * time.Second))
	if l, err := heldR.ReadString('\n'); l != "still here\n" {
		t.Fatalf("held session after the upgrade: %q, %v", l, err)
	}
	held.Close()
	waitFor(t, 10*time.Second, func() error {
		if !exitedPID(oldPID) {
			return fmt.Errorf("old pid %d still runs after its last session closed", oldPID)
		}
		return nil
	})
	first := load.stop()
	t.Logf("%d connections, %d before the upgrade signal, %d failed", load.ok.Load(), before, load.fails.Load())
	if load.fails.Load() > 0 {
		t.Errorf("%d connection attempts failed during the upgrade; first: %v", load.fails.Load(), first)
	}
	if !strings.Contains(p.Stderr.String(), "took over the listening sockets") {
		t.Errorf("the new process did not say it took over; stderr:\n%s", p.Stderr)
	}
}

// A new binary that cannot start leaves the running pivotd serving.
func TestUpgradeFailureKeepsServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "pivotd")
	copyFile(t, pivotdBin, bin)
	fe := freeAddr(t)
	s1 := startBackend(t, "s1")
	p := startPivotOpts(t, expand(`
global
    stats socket $DIR/admin.sock level admin
`+baseDefaults+`
listen app
    bind $FE
    server s1 $S1
`, vars{"DIR": dir, "FE": fe, "S1": s1.Addr}), pivotOpts{bin: bin})
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	if err := os.WriteFile(bin+".new", []byte("#!/bin/sh\necho broken build >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitFor(t, 10*time.Second, func() error {
		if !strings.Contains(p.Stderr.String(), "upgrade failed, this process goes on serving") {
			return fmt.Errorf("no failure reported yet; stderr:\n%s", p.Stderr)
		}
		return nil
	})
	c, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatalf("after a failed upgrade: %v", err)
	}
	defer c.Close()
	if g, _ := bufio.NewReader(c).ReadString('\n'); g != "s1\n" {
		t.Errorf("after a failed upgrade the greeting is %q", g)
	}
	if out := adminSend(t, sock, "show info\n"); !strings.Contains(out, "Pid: "+strconv.Itoa(p.cmd.Process.Pid)+"\n") {
		t.Errorf("the admin socket is no longer the running process's:\n%s", out)
	}
}
