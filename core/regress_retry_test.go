package core

import (
	"net"
	"testing"
	"time"
)

func TestRetrySkipsServerPutInMaint(t *testing.T) {
	// reserve a port, then free it so connects are refused
	tmp, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := tmp.Addr().String()
	tmp.Close()
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
