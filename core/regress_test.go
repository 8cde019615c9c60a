package core

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// slow server: greets then sends 1KB every 100ms for 3s
func startTrickle(t *testing.T) net.Listener {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				for i := 0; i < 30; i++ {
					if _, err := c.Write(buf); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestSlowDownloadNotCutByClientTimeout(t *testing.T) {
	ln := startTrickle(t)
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout client 1s
    timeout server 1s
    timeout connect 1s
    server s1 %s
`, ln.Addr().String())
	conn, err := net.Dial("tcp", frontendAddr(t, c, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	n, err := io.Copy(io.Discard, conn)
	t.Logf("received %d bytes in %v, err %v (server sends 30720 over 3s)", n, time.Since(start), err)
	if n < 30720 {
		t.Errorf("session cut while data was flowing")
	}
}

func TestAverageConverges(t *testing.T) {
	var a average
	for i := 0; i < 100; i++ {
		a.add(100)
	}
	t.Logf("after 100 samples of 100ms: %d", a.Value())
	for i := 0; i < 1000; i++ {
		a.add(100)
	}
	t.Logf("after 1100 samples of 100ms: %d", a.Value())
}

// server closes at once after greeting; client keeps its side open.
func TestClientFinShortensWait(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("bye\n"))
			c.Close()
		}
	}()
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout client 10s
    timeout client-fin 300ms
    timeout server 10s
    timeout connect 1s
    server s1 %s
`, ln.Addr().String())
	conn, err := net.Dial("tcp", frontendAddr(t, c, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	// wait and see whether the session is gone after client-fin
	time.Sleep(1500 * time.Millisecond)
	t.Logf("actconn 1.5s after the server closed (client-fin 300ms): %d", c.ActiveSessions())
	if c.ActiveSessions() != 0 {
		t.Errorf("half-closed session still open well past timeout client-fin")
	}
}
