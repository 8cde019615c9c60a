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
			p, fe := startOneServer(t, startBackend(t, "s1"))
			c := dial(t, fe)
			c.greeting()
			c.roundTrip("open\n")
			start := time.Now()
			p.signal(sig)
			p.expectExit0(3*time.Second, " after "+sig.String())
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("exited %v after %v; want promptly", took, sig)
			}
			c.expectEOF(2 * time.Second)
		})
	}
}

func TestSoftStop(t *testing.T) {
	t.Parallel()
	p, fe := startOneServer(t, startBackend(t, "s1"))
	c := dial(t, fe)
	c.greeting()
	p.softStop(fe)
	// The running session goes on, and the daemon waits for it.
	for i := range 3 {
		c.roundTrip("still working " + strconv.Itoa(i) + "\n")
	}
	if p.exited() {
		t.Fatalf("pivotd exited while a session was open\nstderr:\n%s", p.Stderr)
	}
	c.close()
	p.expectExit0(5*time.Second, " after the last session ended")
}

func TestHardStopAfter(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr}
	p := startPivot(t, `
global
    hard-stop-after 500ms
`+baseDefaults+oneServerApp, v)
	c := dial(t, v["fe"])
	c.greeting()
	start := time.Now()
	p.softStop(v["fe"])
	c.roundTrip("before the deadline\n")
	c.expectEOF(5 * time.Second)
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("session cut %v after SIGUSR1; want about 500ms (hard-stop-after)", took)
	}
	p.expectExit0(3*time.Second, "")
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
	p := startPivotOpts(t, expand(baseDefaults+oneServerApp, v), pivotOpts{noWait: true})
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
	p := startPivotOpts(t, expand(baseDefaults+oneServerApp, v), pivotOpts{args: []string{"-p", pidfile}})
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
