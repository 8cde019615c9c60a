package core

import (
	"bufio"
	"net"
	"testing"
	"time"
)

func TestEnableFrontendRefusedWhileStopping(t *testing.T) {
	s1 := startEcho(t, "s1")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    server s1 %s
`, s1.addr())
	addr := frontendAddr(t, c, "app")
	held, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(held).ReadString('\n')
	done := make(chan int)
	go func() { done <- c.SoftStop(0) }()
	time.Sleep(200 * time.Millisecond)
	if err := c.SetFrontendState("app", FrontendOpen); err != nil {
		t.Logf("enable refused: %v", err)
		return
	}
	f, _ := c.Frontend("app")
	t.Logf("enable frontend during soft stop accepted; listening on %v", f.Addrs())
	if a := f.Addrs(); len(a) > 0 {
		if n, err := who(a[0].String()); err == nil {
			t.Errorf("new client served during soft stop by %s", n)
		}
	}
	held.Close()
	<-done
	t.Logf("after SoftStop returned, frontend listens on %v", f.Addrs())
}
