package core

import (
	"net"
	"testing"
	"time"
)

func TestRetrySkipsServerPutInMaint(t *testing.T) {
	addr := deadAddr(t)
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout connect 1s
    retries 3
    server s1 %s
`, addr)
	conn, err := net.Dial("tcp", frontendAddr(t, c, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(300 * time.Millisecond) // first attempt refused, now in turn-around
	if err := c.SetServerState("app", "s1", StateMaint); err != nil {
		t.Fatal(err)
	}
	// server comes back on its port while in maintenance
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skip(err)
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(3 * time.Second))
	if sc, err := ln.Accept(); err == nil {
		t.Errorf("server in MAINT received a connection %v after SetServerState(maint) returned", sc.RemoteAddr())
		sc.Close()
	}
}

// TestRedispatchCountedOnce: a connection refused by s1 and redispatched
// to s2 counts one redispatch (wredis) on s1's row and on the backend's,
// and no retry (wretr): HAProxy 2.6 on the same configuration shows
// wredis 1 and wretr 0 on both rows.
func TestRedispatchCountedOnce(t *testing.T) {
	refused := deadAddr(t)
	s2 := startEcho(t, "s2")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    balance first
    timeout connect 1s
    retries 1
    option redispatch
    server s1 %s
    server s2 %s
`, refused, s2.addr())
	if got, err := who(frontendAddr(t, c, "app")); got != "s2" {
		t.Fatalf("redispatched connection reached %q (%v); want s2", got, err)
	}
	be, err := serverRow(c, "app", "BACKEND")
	if err != nil {
		t.Fatal(err)
	}
	s1, err := serverRow(c, "app", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if s1.WRedis != 1 || be.WRedis != 1 || s1.WRetr != 0 || be.WRetr != 0 {
		t.Errorf("wredis s1 %d, backend %d; wretr s1 %d, backend %d; want 1, 1, 0, 0", s1.WRedis, be.WRedis, s1.WRetr, be.WRetr)
	}
}
