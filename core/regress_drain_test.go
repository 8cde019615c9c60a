package core

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestClientNotReadingIsTimedOut: a client that sent its request,
// half-closed, and never reads the (large) answer is cut after
// `timeout client`, freeing its slots; it does not hang for ever.
func TestClientNotReadingIsTimedOut(t *testing.T) {
	t.Parallel()
	addr := startServerFunc(t, func(c net.Conn) { // an answer far larger than the socket buffers
		buf := make([]byte, 64<<10)
		for range 1000 {
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout client 300ms
    timeout server 5s
    timeout connect 1s
    server s1 %s
`, addr)
	conn, err := net.Dial("tcp", frontendAddr(t, c, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).CloseWrite() // the request is done; the client never reads
	waitFor(t, 5*time.Second, func() error {
		if n := c.ActiveSessions(); n != 0 {
			return fmt.Errorf("%d sessions still open", n)
		}
		return nil
	})
}

// TestDrainedServerIgnoresTheQueue: connections queued in a saturated
// backend can only go to a server that takes new connections, so they do
// not keep a drained server from being unused (`wait srv-unused`, which
// pivotctl drain --wait relies on), while they do count for the server
// they wait for.
func TestDrainedServerIgnoresTheQueue(t *testing.T) {
	t.Parallel()
	s1, s2 := startEcho(t, "s1"), startEcho(t, "s2")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout client 5s
    timeout server 5s
    timeout connect 1s
    timeout queue 5s
    server s1 %s
    server s2 %s maxconn 1
`, s1.addr(), s2.addr())
	if err := c.SetServerState("app", "s1", StateDrain); err != nil {
		t.Fatal(err)
	}
	addr := frontendAddr(t, c, "app")
	held, err := net.Dial("tcp", addr) // takes s2's only slot
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if g, _ := bufio.NewReader(held).ReadString('\n'); g != "s2\n" {
		t.Fatalf("first connection greeted %q", g)
	}
	queued, err := net.Dial("tcp", addr) // waits for s2
	if err != nil {
		t.Fatal(err)
	}
	defer queued.Close()
	waitFor(t, 5*time.Second, func() error {
		if _, q, _, _ := c.ServerUsage("app", "s2"); q != 1 {
			return fmt.Errorf("s2: %d queued", q)
		}
		return nil
	})
	if n, q, _, err := c.ServerUsage("app", "s1"); err != nil || n != 0 || q != 0 {
		t.Errorf("drained s1: %d sessions, %d queued (%v); want unused", n, q, err)
	}
}
