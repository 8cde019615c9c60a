package core

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestSourceQueueNoHeadOfLine: with balance source, a client queued for
// its full server does not hold back a client of another, idle server.
func TestSourceQueueNoHeadOfLine(t *testing.T) {
	t.Parallel()
	s1 := startEcho(t, "s1")
	s2 := startEcho(t, "s2")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    balance source
    timeout queue 5s
    timeout connect 1s
    server s1 %s maxconn 1
    server s2 %s maxconn 1
`, s1.addr(), s2.addr())
	fe := frontendAddr(t, c, "app")
	be, _ := c.Backend("app")
	set := be.set.Load()
	// find two loopback IPs that hash to different servers
	ipFor := map[string]string{}
	for i := 1; i < 50 && len(ipFor) < 2; i++ {
		ip := netip.AddrFrom4([4]byte{127, 0, 0, byte(i)})
		s := source{}.pick(be, set, ip, nil)
		if s == nil {
			t.Fatal("nil pick")
		}
		s.cnt.Cur.Add(-1)
		if _, ok := ipFor[s.name]; !ok {
			ipFor[s.name] = ip.String()
		}
	}
	dial := func(ip string) *bufio.Reader {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		conn, err := d.Dial("tcp", fe)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		return bufio.NewReader(conn)
	}
	a := dial(ipFor["s1"])
	if l, _ := a.ReadString('\n'); l != "s1\n" {
		t.Fatalf("a got %q", l)
	}
	_ = dial(ipFor["s1"]) // queues for s1
	waitFor(t, 2*time.Second, func() error {
		if be.queue.len() != 1 {
			return fmt.Errorf("queue holds %d", be.queue.len())
		}
		return nil
	})
	b := dial(ipFor["s2"])
	l, err := b.ReadString('\n')
	if l != "s2\n" {
		t.Errorf("client of idle s2 got %q, %v: blocked behind a client queued for full s1", l, err)
	}
}
