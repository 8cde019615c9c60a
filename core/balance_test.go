package core

import (
	"fmt"
	"net"
	"testing"
	"time"
)

func TestRedispatchNow(t *testing.T) {
	tests := []struct {
		interval int
		retries  int
		want     []bool // for retry 1..retries
	}{
		{0, 3, []bool{false, false, true}},
		{-1, 3, []bool{false, false, true}},
		{-2, 3, []bool{false, true, false}},
		{1, 3, []bool{true, true, true}},
		{2, 4, []bool{false, true, false, true}},
	}
	for _, tt := range tests {
		for n := 1; n <= tt.retries; n++ {
			if got := redispatchNow(n, tt.retries, tt.interval); got != tt.want[n-1] {
				t.Errorf("interval %d, retry %d of %d: %v; want %v", tt.interval, n, tt.retries, got, tt.want[n-1])
			}
		}
	}
}

// TestAlgorithms checks where sequential connections land, through the
// whole data path.
func TestAlgorithms(t *testing.T) {
	t.Parallel()
	s1, s2, s3 := startEcho(t, "s1"), startEcho(t, "s2"), startEcho(t, "s3")
	tests := []struct {
		desc  string
		cfg   string
		conns int
		want  map[string]int
	}{
		{"roundrobin weighted", `balance roundrobin
    server s1 %s weight 1
    server s2 %s weight 2
    server s3 %s weight 3`, 60, map[string]int{"s1": 10, "s2": 20, "s3": 30}},
		{"static-rr", `balance static-rr
    server s1 %s weight 2
    server s2 %s weight 1
    server s3 %s weight 1`, 40, map[string]int{"s1": 20, "s2": 10, "s3": 10}},
		{"first", `balance first
    server s1 %s id 3
    server s2 %s id 1
    server s3 %s id 2`, 10, map[string]int{"s2": 10}},
		{"leastconn idle servers share", `balance leastconn
    server s1 %s
    server s2 %s
    server s3 %s`, 30, map[string]int{"s1": 10, "s2": 10, "s3": 10}},
		{"weight 0 takes nothing", `balance roundrobin
    server s1 %s weight 0
    server s2 %s
    server s3 %s`, 10, map[string]int{"s2": 5, "s3": 5}},
		{"backup only when needed", `balance roundrobin
    server s1 %s
    server s2 %s backup
    server s3 %s backup`, 6, map[string]int{"s1": 6}},
		{"first backup when all actives are out", `balance roundrobin
    server s1 %s disabled
    server s2 %s backup
    server s3 %s backup`, 6, map[string]int{"s2": 6}},
		{"allbackups", `balance roundrobin
    option allbackups
    server s1 %s disabled
    server s2 %s backup
    server s3 %s backup`, 6, map[string]int{"s2": 3, "s3": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := startCore(t, "listen app\n    bind 127.0.0.1:1\n    "+tt.cfg+"\n", s1.addr(), s2.addr(), s3.addr())
			addr := frontendAddr(t, c, "app")
			got := map[string]int{}
			be, _ := c.Backend("app")
			for range tt.conns {
				name, err := who(addr)
				if err != nil {
					t.Fatal(err)
				}
				got[name]++
				// The next pick must see this session gone (leastconn).
				waitFor(t, 2*time.Second, func() error {
					if n := be.cnt.Cur.Load(); n != 0 {
						return fmt.Errorf("%d sessions still open", n)
					}
					return nil
				})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("landed %v; want %v", got, tt.want)
			}
		})
	}
}

func TestSourceIsSticky(t *testing.T) {
	t.Parallel()
	s1, s2, s3 := startEcho(t, "s1"), startEcho(t, "s2"), startEcho(t, "s3")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    balance source
    server s1 %s
    server s2 %s
    server s3 %s
`, s1.addr(), s2.addr(), s3.addr())
	addr := frontendAddr(t, c, "app")
	seen := map[string]bool{}
	for i := 2; i <= 12; i++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i))}, Timeout: 2 * time.Second}
		first := ""
		for range 5 {
			conn, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 3)
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := conn.Read(buf); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			if first == "" {
				first = string(buf[:2])
			} else if string(buf[:2]) != first {
				t.Fatalf("client 127.0.0.%d went to %s then %s", i, first, buf[:2])
			}
		}
		seen[first] = true
	}
	if len(seen) < 2 {
		t.Errorf("11 client addresses all hashed to %v", seen)
	}
}

func TestLeastconnAvoidsBusyServer(t *testing.T) {
	t.Parallel()
	s1, s2 := startEcho(t, "s1"), startEcho(t, "s2")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    balance leastconn
    server s1 %s
    server s2 %s
`, s1.addr(), s2.addr())
	addr := frontendAddr(t, c, "app")
	// Hold three connections on whichever servers they reach.
	held := map[string]int{}
	for range 3 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		buf := make([]byte, 3)
		conn.Read(buf)
		held[string(buf[:2])]++
	}
	if held["s1"]+held["s2"] != 3 || held["s1"] == 0 || held["s2"] == 0 {
		t.Fatalf("held connections %v: leastconn should use both servers", held)
	}
	busy, idle := "s1", "s2"
	if held["s2"] > held["s1"] {
		busy, idle = "s2", "s1"
	}
	// The next connection (closed at once) must go to the less loaded one.
	if name, err := who(addr); err != nil || name != idle {
		t.Errorf("next connection went to %q (%v); want %q, %s holds more", name, err, idle, busy)
	}
}

func TestRandomUsesAllServers(t *testing.T) {
	t.Parallel()
	s1, s2, s3 := startEcho(t, "s1"), startEcho(t, "s2"), startEcho(t, "s3")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    balance random
    server s1 %s
    server s2 %s
    server s3 %s weight 0
`, s1.addr(), s2.addr(), s3.addr())
	addr := frontendAddr(t, c, "app")
	got := map[string]int{}
	for range 60 {
		name, err := who(addr)
		if err != nil {
			t.Fatal(err)
		}
		got[name]++
	}
	if got["s1"] < 10 || got["s2"] < 10 || got["s3"] != 0 {
		t.Errorf("random landed %v; want both weighted servers used and none on weight 0", got)
	}
}
