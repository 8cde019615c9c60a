package core

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pivot/core/config"
)

// TestStateChangeAppliesToNextConnection: once a change has returned, the
// very next connection obeys it.
func TestStateChangeAppliesToNextConnection(t *testing.T) {
	t.Parallel()
	s1, s2 := startEcho(t, "s1"), startEcho(t, "s2")
	c := startCore(t, "listen app\n    bind 127.0.0.1:1\n    server s1 %s\n    server s2 %s\n", s1.addr(), s2.addr())
	addr := frontendAddr(t, c, "app")
	changes := []struct {
		desc   string
		apply  func() error
		undo   func() error
		status string
	}{
		{"maint", func() error { return c.SetServerState("app", "s1", StateMaint) },
			func() error { return c.SetServerState("app", "s1", StateReady) }, "MAINT"},
		{"drain", func() error { return c.SetServerState("app", "s1", StateDrain) },
			func() error { return c.SetServerState("app", "s1", StateReady) }, "DRAIN"},
		{"weight 0", func() error { return c.SetServerWeight("app", "s1", 0, false) },
			func() error { return c.SetServerWeight("app", "s1", 1, false) }, "no check"},
		{"health down", func() error { return c.SetServerHealth("app", "s1", HealthDown) },
			func() error { return c.SetServerHealth("app", "s1", HealthUp) }, "DOWN"},
		{"health stopping", func() error { return c.SetServerHealth("app", "s1", HealthStopping) },
			func() error { return c.SetServerHealth("app", "s1", HealthUp) }, "NOLB"},
	}
	for _, ch := range changes {
		t.Run(ch.desc, func(t *testing.T) {
			for round := range 20 {
				if err := ch.apply(); err != nil {
					t.Fatal(err)
				}
				for range 3 {
					if name, err := who(addr); err != nil || name != "s2" {
						t.Fatalf("round %d: connection went to %q (%v) while s1 is %s", round, name, err, ch.desc)
					}
				}
				if r, _ := serverRow(c, "app", "s1"); r.Status != ch.status {
					t.Fatalf("status %q; want %q", r.Status, ch.status)
				}
				if err := ch.undo(); err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for range 2 {
					name, err := who(addr)
					if err != nil {
						t.Fatal(err)
					}
					seen[name] = true
				}
				if !seen["s1"] {
					t.Fatalf("round %d: s1 got nothing after undoing %s", round, ch.desc)
				}
			}
		})
	}
}

// TestRuntimeChangesUnderLoad runs every kind of runtime change while
// clients stream data (run it with -race). No byte may be lost or
// altered, and no connection started after s1 was put in maintenance may
// reach it until it is made ready again.
func TestRuntimeChangesUnderLoad(t *testing.T) {
	t.Parallel()
	s1, s2, s3, spare := startEcho(t, "s1"), startEcho(t, "s2"), startEcho(t, "s3"), startEcho(t, "s3")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    balance roundrobin
    timeout connect 2s
    server s1 %s check inter 20ms
    server s2 %s check inter 20ms maxconn 50
    server s3 %s weight 3
`, s1.addr(), s2.addr(), s3.addr())
	addr := frontendAddr(t, c, "app")

	// s1's forbidden windows: from a maint returning to the next ready.
	var mu sync.Mutex
	type window struct{ from, to time.Time }
	var windows []window
	var openFrom time.Time

	stop := make(chan struct{})
	var clients sync.WaitGroup
	var ok, cut atomic.Int64
	var violations []string
	for i := range 6 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			payload := make([]byte, 16<<10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				started := time.Now()
				name, err := exchange(addr, payload)
				switch {
				case errors.Is(err, errCorrupt):
					mu.Lock()
					violations = append(violations, fmt.Sprintf("client %d: %v", i, err))
					mu.Unlock()
					return
				case err != nil:
					cut.Add(1) // killed by shutdown sessions, or no server
					continue
				}
				ok.Add(1)
				ended := time.Now()
				if name == "s1" {
					// Picked after maint returned and before ready was called.
					mu.Lock()
					for _, w := range windows {
						if started.After(w.from) && (w.to.IsZero() || ended.Before(w.to)) {
							violations = append(violations, fmt.Sprintf("connection started %v reached s1 in maint", started.Format(time.StampMicro)))
						}
					}
					mu.Unlock()
				}
			}
		}()
	}

	ops := []func(){
		func() {
			c.SetServerState("app", "s1", StateMaint)
			mu.Lock()
			if openFrom.IsZero() {
				openFrom = time.Now()
				windows = append(windows, window{from: openFrom})
			}
			mu.Unlock()
		},
		func() {
			mu.Lock()
			if !openFrom.IsZero() {
				windows[len(windows)-1].to = time.Now()
				openFrom = time.Time{}
			}
			mu.Unlock()
			c.SetServerState("app", "s1", StateReady)
		},
		func() { c.SetServerState("app", "s2", StateDrain); c.SetServerState("app", "s2", StateReady) },
		func() { c.SetServerWeight("app", "s3", mrand.IntN(5), false) },
		func() { c.SetServerWeight("app", "s2", 50+mrand.IntN(200), true) },
		func() {
			a := []string{s3.addr(), spare.addr()}[mrand.IntN(2)]
			host, port, _ := net.SplitHostPort(a)
			var p int
			fmt.Sscan(port, &p)
			c.SetServerAddr("app", "s3", host, p)
		},
		func() { c.SetServerMaxconn("app", "s2", mrand.IntN(3)) },
		func() { c.SetServerHealth("app", "s2", HealthDown); c.SetServerHealth("app", "s2", HealthUp) },
		func() { c.SetServerCheckEnabled("app", "s2", mrand.IntN(2) == 0) },
		func() { c.ShutdownServerSessions("app", "s3") },
		func() {
			var id uint64
			c.sessions.each(func(s *session) bool { id = s.id; return false })
			c.ShutdownSession(id)
		},
		func() {
			c.SetServerCheckPort("app", "s2", 1+mrand.IntN(65535))
			c.SetServerCheckAddr("app", "s2", "127.0.0.1", 0)
		},
		func() { c.SetServerAgent("app", "s1", true) },
		func() { c.SetGlobalMaxconn(5 + mrand.IntN(100)) },
		func() { c.SetGlobalRateLimit(mrand.IntN(2) * 100000) },
		func() {
			c.SetFrontendState("app", FrontendPaused)
			if err := c.SetFrontendState("app", FrontendOpen); err != nil {
				t.Errorf("re-enable frontend: %v", err)
			}
		},
		func() { c.SetFrontendMaxconn("app", 1+mrand.IntN(20)) },
		func() { c.ClearCounters(mrand.IntN(2) == 0) },
		func() { _ = c.Stats() },
		func() {
			sc := config.Server{Name: "tmp", Host: "127.0.0.1", Weight: 1, Rise: 2, Fall: 3, Inter: time.Second}
			fmt.Sscan(strings.Split(s2.addr(), ":")[1], &sc.Port)
			if c.AddServer("app", sc, false) == nil {
				c.SetServerState("app", "tmp", StateReady)
				c.SetServerState("app", "tmp", StateMaint)
				waitFor(t, 5*time.Second, func() error {
					if err := c.DelServer("app", "tmp"); err != nil && !errors.Is(err, ErrHasSessions) {
						return nil // gone for another reason: fine
					} else if err != nil {
						return err
					}
					return nil
				})
			}
		},
	}
	for range 400 {
		ops[mrand.IntN(len(ops))]()
		time.Sleep(time.Millisecond) // let traffic flow between changes
	}
	ops[1]() // ready, closing the last window
	c.SetFrontendMaxconn("app", 100)
	c.SetGlobalMaxconn(1000)
	c.SetGlobalRateLimit(0)
	c.SetServerMaxconn("app", "s2", 0)
	close(stop)
	clients.Wait()

	for _, v := range violations {
		t.Error(v)
	}
	if ok.Load() < 50 {
		t.Errorf("only %d exchanges succeeded (%d cut)", ok.Load(), cut.Load())
	}
	t.Logf("%d exchanges, %d cut by shutdowns, %d maint windows", ok.Load(), cut.Load(), len(windows))
}

var errCorrupt = errors.New("echoed bytes differ from what was sent")

// exchange connects, reads the greeting, sends payload (randomised) and
// reads it back. It returns the server's name.
func exchange(addr string, payload []byte) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	name, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	rand.Read(payload)
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Write(payload)
		errc <- err
	}()
	got := make([]byte, len(payload))
	n, err := io.ReadFull(r, got)
	if werr := <-errc; err == nil {
		err = werr
	}
	if !bytes.Equal(got[:n], payload[:n]) {
		return "", fmt.Errorf("%w (server %s, offset < %d)", errCorrupt, strings.TrimSpace(name), n)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(name), nil
}

// queueBehindOne starts a backend whose only server takes one connection
// (maxconn 1, the given timeout queue), fills that slot with a first
// client, and connects a second one, which waits in the queue.
func queueBehindOne(t *testing.T, queueTimeout string) (c *Core, first, second net.Conn) {
	t.Helper()
	s1 := startEcho(t, "s1")
	c = startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout queue %s
    server s1 %s maxconn 1
`, queueTimeout, s1.addr())
	addr := frontendAddr(t, c, "app")
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	bufio.NewReader(first).ReadString('\n')
	second, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	return c, first, second
}

func TestQueueWaitsForAFreeSlot(t *testing.T) {
	t.Parallel()
	c, first, second := queueBehindOne(t, "5s")
	waitFor(t, 2*time.Second, func() error {
		for _, r := range c.Stats() {
			if r.Type == RowBackend && r.QCur == 1 {
				return nil
			}
		}
		return errors.New("backend queue never held the second connection")
	})
	first.Close()
	second.SetDeadline(time.Now().Add(3 * time.Second))
	if line, err := bufio.NewReader(second).ReadString('\n'); err != nil || line != "s1\n" {
		t.Fatalf("queued connection got %q, %v; want the greeting once the slot freed", line, err)
	}
}

func TestQueueTimeout(t *testing.T) {
	t.Parallel()
	_, _, second := queueBehindOne(t, "200ms")
	start := time.Now()
	second.SetDeadline(time.Now().Add(3 * time.Second))
	n, err := second.Read(make([]byte, 10))
	if n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("queued connection: read %d, %v; want closed by pivot", n, err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("closed after %v; want about timeout queue (200ms)", took)
	}
}

func TestDeleteServerRules(t *testing.T) {
	t.Parallel()
	s1, s2 := startEcho(t, "s1"), startEcho(t, "s2")
	c := startCore(t, "listen app\n    bind 127.0.0.1:1\n    server s1 %s\n    server s2 %s\n", s1.addr(), s2.addr())
	addr := frontendAddr(t, c, "app")

	if err := c.DelServer("app", "s1"); !errors.Is(err, ErrNotInMaint) {
		t.Errorf("delete a ready server: %v; want ErrNotInMaint", err)
	}
	if err := c.DelServer("app", "nope"); err == nil || err.Error() != `backend "app": no server named "nope"` {
		t.Errorf("delete unknown server: %v", err)
	}
	// Hold a session on s1, then put it in maintenance.
	var held net.Conn
	for held == nil {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if line, _ := bufio.NewReader(conn).ReadString('\n'); line == "s1\n" {
			held = conn
		} else {
			conn.Close()
		}
	}
	c.SetServerState("app", "s1", StateMaint)
	if err := c.DelServer("app", "s1"); !errors.Is(err, ErrHasSessions) {
		t.Errorf("delete with a session: %v; want ErrHasSessions", err)
	}
	held.Close()
	waitFor(t, 2*time.Second, func() error { return c.DelServer("app", "s1") })
	for range 4 {
		if name, err := who(addr); err != nil || name != "s2" {
			t.Fatalf("after delete: %q, %v", name, err)
		}
	}
	if _, err := serverRow(c, "app", "s1"); err == nil {
		t.Error("deleted server still in stats")
	}
}

func TestWeightRules(t *testing.T) {
	t.Parallel()
	s1 := startEcho(t, "s1")
	c := startCore(t, `
backend rr
    server s1 %[1]s weight 50
backend srr
    balance static-rr
    server s1 %[1]s weight 10
`, s1.addr())
	tests := []struct {
		backend string
		value   int
		percent bool
		want    int
		err     error
	}{
		{"rr", 20, false, 20, nil},
		{"rr", 257, false, 20, ErrWeightRange},
		{"rr", -1, false, 20, ErrWeightRange},
		{"rr", 257, true, 128, nil}, // 257% of 50
		{"rr", 1000, true, 256, nil},
		{"rr", -5, true, 256, ErrWeightNegative},
		{"srr", 0, false, 0, nil},
		{"srr", 100, true, 10, nil},
		{"srr", 5, false, 10, ErrStaticWeight},
	}
	for _, tt := range tests {
		err := c.SetServerWeight(tt.backend, "s1", tt.value, tt.percent)
		cur, _, _ := c.ServerWeight(tt.backend, "s1")
		if !errors.Is(err, tt.err) || cur != tt.want {
			t.Errorf("%s weight %d (percent %v): weight %d, err %v; want %d, %v", tt.backend, tt.value, tt.percent, cur, err, tt.want, tt.err)
		}
	}
}

// TestMaxPipes: maxpipes defaults to a quarter of the global maxconn, as
// HAProxy's, and a reload changes it.
func TestMaxPipes(t *testing.T) {
	c := startCore(t, "global\n    maxconn 4000\nbackend b\n")
	if got := c.Info().MaxPipes; got != 1000 {
		t.Errorf("maxpipes %d with maxconn 4000; want 1000", got)
	}
	next, err := config.Parse("test.cfg", []byte("global\n    maxconn 4000\n    maxpipes 8\nbackend b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reload(next); err != nil {
		t.Fatal(err)
	}
	if got := c.Info().MaxPipes; got != 8 {
		t.Errorf("maxpipes %d after a reload to 8", got)
	}
}
