package test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Health checks: servers go DOWN after `fall` failed checks and come back
// after `rise` good ones, with HAProxy's log lines; check port/addr; cutting
// sessions of a server marked down.

// diagRe is the prefix of pivotd's stderr lines, as HAProxy writes them.
const diagRe = `^\[WARNING\]  \(\d+\) : `

func TestCheckDownAndUp(t *testing.T) {
	t.Parallel()
	s1, s2 := startBackend(t, "s1"), startBackend(t, "s2")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr, "s2": s2.Addr}
	p := startPivot(t, baseDefaults+`
    log stdout format raw local0
frontend fe
    bind $fe
    default_backend be
backend be
    server s1 $s1 check inter 200ms fall 3 rise 3
    server s2 $s2 check inter 200ms fall 3 rise 3
`, v)
	// Let s2 pass a check first, so that it is at full health and must
	// fail `fall` times in a row (a server at start-up needs only one).
	waitFor(t, 3*time.Second, func() error {
		if n := s2.Accepted(); n < 2 {
			return fmt.Errorf("s2 checked %d times; want 2", n)
		}
		return nil
	})
	if got := tally(sequence(t, v["fe"], 4)); got["s1"] != 2 || got["s2"] != 2 {
		t.Fatalf("both up: got %v; want 2 and 2", got)
	}

	stopped := time.Now()
	s2.Stop()
	down := `Server be/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 1 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.$`
	waitLine(t, p.Stderr, 5*time.Second, diagRe+down)
	if took := time.Since(stopped); took < 350*time.Millisecond {
		t.Errorf("s2 marked DOWN %v after it died; want at least 2 intervals (3 failed checks 200ms apart)", took)
	}
	t.Run("log target line", func(t *testing.T) {
		waitLine(t, p.Stdout, 2*time.Second, `^`+down)
	})
	if got := tally(sequence(t, v["fe"], 10)); got["s1"] != 10 {
		t.Errorf("s2 down: got %v; want all 10 on s1", got)
	}

	started := time.Now()
	s2.Start()
	up := `Server be/s2 is UP, reason: Layer4 check passed, check duration: \d+ms\. 2 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\.$`
	waitLine(t, p.Stderr, 5*time.Second, diagRe+up)
	if took := time.Since(started); took < 350*time.Millisecond {
		t.Errorf("s2 marked UP %v after it came back; want at least 2 intervals (3 good checks 200ms apart)", took)
	}
	t.Run("log target line up", func(t *testing.T) {
		waitLine(t, p.Stdout, 2*time.Second, `^`+up)
	})
	if got := tally(sequence(t, v["fe"], 4)); got["s1"] != 2 || got["s2"] != 2 {
		t.Errorf("s2 back: got %v; want 2 and 2", got)
	}
	// Exactly one DOWN and one UP transition were logged.
	for _, re := range []string{`Server be/s2 is DOWN`, `Server be/s2 is UP`} {
		if n := len(matchingLines(p.Stderr, re)); n != 1 {
			t.Errorf("%d stderr lines match %q; want 1", n, re)
		}
	}
}

func TestCheckNoServerAvailable(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr}
	p := startPivot(t, baseDefaults+tcplogStdout+`
frontend fe
    bind $fe
    default_backend be
backend be
    server s1 $s1 check inter 100ms fall 1 rise 1
`, v)
	waitServes(t, v["fe"], "s1", 3*time.Second)
	s1.Stop()
	waitLine(t, p.Stderr, 5*time.Second, `^\[ALERT\]    \(\d+\) : backend 'be' has no server available!$`)
	waitLine(t, p.Stdout, 2*time.Second, `^backend be has no server available!$`)
	c := dial(t, v["fe"])
	c.expectEOF(3 * time.Second)
	line := waitLine(t, p.Stdout, 3*time.Second, fmt.Sprintf(`^127\.0\.0\.1:%d `, c.localPort()))
	if want := ` fe be/<NOSRV> -1/-1/\d+ 0 SC `; !matches(want, line) {
		t.Errorf("log line %q; want it to match %q", line, want)
	}
}

func TestCheckStartsDown(t *testing.T) {
	t.Parallel()
	s2 := startBackend(t, "s2")
	v := vars{"fe": freeAddr(t), "s1": deadAddr(t), "s2": s2.Addr}
	p := startPivot(t, baseDefaults+`
listen app
    bind $fe
    server s1 $s1 check inter 100ms fall 3 rise 2
    server s2 $s2 check inter 100ms fall 3 rise 2
`, v)
	// A server that is down at start-up is marked DOWN by its first failed
	// check, whatever fall is (it starts at health = rise).
	waitLine(t, p.Stderr, 3*time.Second, diagRe+regexp.QuoteMeta(`Server app/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: `)+`\d+ms\. 1 active and 0 backup servers left\.`)
	if got := tally(sequence(t, v["fe"], 6)); got["s2"] != 6 {
		t.Errorf("got %v; want all 6 on s2", got)
	}
}

func TestCheckPortAndAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc     string
		check    func(live, dead *backend, deadPort string) string // server options
		wantDown bool
	}{
		{
			desc:     "port pointing to a dead port",
			check:    func(_, _ *backend, deadPort string) string { return "check inter 100ms fall 1 port " + deadPort },
			wantDown: true,
		},
		{
			desc:     "addr where the server does not listen",
			check:    func(_, _ *backend, _ string) string { return "check inter 100ms fall 1 addr 127.0.0.3" },
			wantDown: true,
		},
		{
			desc: "port pointing to a live port",
			check: func(_, other *backend, _ string) string {
				return "check inter 100ms fall 1 port " + other.Port()
			},
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s1, other := startBackend(t, "s1"), startBackend(t, "other")
			_, deadPort, _ := strings.Cut(deadAddr(t), ":")
			v := vars{"fe": freeAddr(t), "s1": s1.Addr, "opts": tc.check(s1, other, deadPort)}
			p := startPivot(t, baseDefaults+`
listen app
    bind $fe
    server s1 $s1 $opts
`, v)
			if tc.wantDown {
				waitLine(t, p.Stderr, 3*time.Second, diagRe+`Server app/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused"`)
				c := dial(t, v["fe"])
				c.expectEOF(3 * time.Second)
				return
			}
			// Checks go to the other port: it sees them, and s1 stays up.
			waitFor(t, 3*time.Second, func() error {
				if n := other.Accepted(); n < 3 {
					return fmt.Errorf("the check port saw %d connections; want 3 checks", n)
				}
				return nil
			})
			if lines := matchingLines(p.Stderr, `is DOWN`); len(lines) > 0 {
				t.Errorf("s1 went down: %q", lines)
			}
			if got := who(t, v["fe"]); got != "s1" {
				t.Errorf("answered by %q; want s1", got)
			}
		})
	}
}

func TestCheckOnMarkedDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc     string
		opt      string
		wantKill bool
	}{
		{desc: "on-marked-down shutdown-sessions", opt: "on-marked-down shutdown-sessions", wantKill: true},
		{desc: "sessions survive by default"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s1 := startBackend(t, "s1")
			v := vars{"fe": freeAddr(t), "s1": s1.Addr, "opt": tc.opt}
			p := startPivot(t, baseDefaults+`
listen app
    bind $fe
    server s1 $s1 check inter 100ms fall 1 rise 1 $opt
`, v)
			c := dial(t, v["fe"])
			if got := c.greeting(); got != "s1" {
				t.Fatalf("greeting %q; want s1", got)
			}
			c.roundTrip("before\n")
			// The server stops accepting (checks fail) but keeps the
			// running connection.
			s1.CloseListener()
			waitLine(t, p.Stderr, 3*time.Second, diagRe+`Server app/s1 is DOWN, .* 1 sessions active, 0 requeued, 0 remaining in queue\.$`)
			if tc.wantKill {
				c.expectEOF(3 * time.Second)
				return
			}
			c.roundTrip("after\n")
		})
	}
}
