package test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Signals, soft stop, hard-stop-after, bind failures and the pid file.

func TestStopSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s1 := startBackend(t, "s1")
			v := vars{"fe": freeAddr(t), "s1": s1.Addr}
			p := startPivot(t, baseDefaults+`
listen app
    bind $fe
    server s1 $s1
`, v)
			c := dial(t, v["fe"])
			c.greeting()
			c.roundTrip("open\n")
			start := time.Now()
			p.signal(sig)
			if code := p.wait(3 * time.Second); code != 0 {
				t.Errorf("exit status %d after %v; want 0\nstderr:\n%s", code, sig, p.Stderr)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("exited %v after %v; want promptly", took, sig)
			}
			c.expectEOF(2 * time.Second)
		})
	}
}

// refused reports whether connecting to addr is refused.
func refused(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return errors.New("connection accepted; want it refused")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	return nil
}

func TestSoftStop(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr}
	p := startPivot(t, baseDefaults+`
listen app
    bind $fe
    server s1 $s1
`, v)
	c := dial(t, v["fe"])
	c.greeting()
	p.signal(syscall.SIGUSR1)
	waitFor(t, 3*time.Second, func() error { return refused(v["fe"]) })
	// The running session goes on, and the daemon waits for it.
	for i := range 3 {
		c.roundTrip("still working " + strconv.Itoa(i) + "\n")
	}
	if p.exited() {
		t.Fatalf("pivotd exited while a session was open\nstderr:\n%s", p.Stderr)
	}
	c.close()
	if code := p.wait(5 * time.Second); code != 0 {
		t.Errorf("exit status %d after the last session ended; want 0\nstderr:\n%s", code, p.Stderr)
	}
}

func TestHardStopAfter(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr}
	p := startPivot(t, `
global
    hard-stop-after 500ms
`+baseDefaults+`
listen app
    bind $fe
    server s1 $s1
`, v)
	c := dial(t, v["fe"])
	c.greeting()
	start := time.Now()
	p.signal(syscall.SIGUSR1)
	waitFor(t, 3*time.Second, func() error { return refused(v["fe"]) })
	c.roundTrip("before the deadline\n")
	c.expectEOF(5 * time.Second)
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("session cut %v after SIGUSR1; want about 500ms (hard-stop-after)", took)
	}
	if code := p.wait(3 * time.Second); code != 0 {
		t.Errorf("exit status %d; want 0\nstderr:\n%s", code, p.Stderr)
	}
}

func TestBindFailure(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	addr := taken.Addr().String()
	v := vars{"fe": addr, "s1": deadAddr(t)}
	p := startPivotOpts(t, expand(baseDefaults+`
listen app
    bind $fe
    server s1 $s1
`, v), pivotOpts{noWait: true})
	if code := p.wait(5 * time.Second); code == 0 {
		t.Errorf("exit status 0; want non-zero when the bind address is taken")
	}
	stderr := p.Stderr.String()
	if !strings.Contains(stderr, addr) || !strings.Contains(strings.ToLower(stderr), "address already in use") {
		t.Errorf("stderr %q; want a message naming %s and \"address already in use\"", stderr, addr)
	}
}

func TestPidFile(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	pidfile := filepath.Join(t.TempDir(), "pivotd.pid")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr}
	p := startPivotOpts(t, expand(baseDefaults+`
listen app
    bind $fe
    server s1 $s1
`, v), pivotOpts{args: []string{"-p", pidfile}})
	var got string
	waitFor(t, 3*time.Second, func() error {
		data, err := os.ReadFile(pidfile)
		got = string(data)
		if err != nil || !strings.HasSuffix(got, "\n") {
			return errors.New("pid file not written yet")
		}
		return nil
	})
	if want := strconv.Itoa(p.Pid()) + "\n"; got != want {
		t.Errorf("pid file holds %q; want %q", got, want)
	}
}
