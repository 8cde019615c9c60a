package core

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestSlowDownloadNotCutByClientTimeout: a server that trickles 1 KiB
// every 100 ms to a client that sends nothing keeps the session alive
// under a 1 s client timeout, however the bytes are chunked.
func TestSlowDownloadNotCutByClientTimeout(t *testing.T) {
	t.Parallel()
	addr := startServerFunc(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		for range 30 {
			if _, err := c.Write(buf); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond) // the trickle under test
		}
	})
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout client 1s
    timeout server 1s
    timeout connect 1s
    server s1 %s
`, addr)
	conn, err := net.Dial("tcp", frontendAddr(t, c, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if n, err := io.Copy(io.Discard, conn); n < 30720 {
		t.Errorf("received %d of 30720 bytes (%v): session cut while data was flowing", n, err)
	}
}

// TestAverageConverges: qtime/ctime/ttime averages of a constant input
// are that input, before and after the window fills.
func TestAverageConverges(t *testing.T) {
	var a average
	for i := range 1100 {
		a.add(100)
		if i == 99 || i == 1099 {
			if got := a.Value(); got < 95 || got > 100 {
				t.Errorf("after %d samples of 100: average %d", i+1, got)
			}
		}
	}
}

// TestClientFinShortensWait: once the server has closed, a client that
// keeps its side open is cut after `timeout client-fin`, not after
// `timeout client`.
func TestClientFinShortensWait(t *testing.T) {
	t.Parallel()
	addr := startServerFunc(t, func(c net.Conn) { io.WriteString(c, "bye\n") })
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout client 10s
    timeout client-fin 300ms
    timeout server 10s
    timeout connect 1s
    server s1 %s
`, addr)
	conn, err := net.Dial("tcp", frontendAddr(t, c, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bufio.NewReader(conn).ReadString('\n')
	waitFor(t, 3*time.Second, func() error { // far below timeout client
		if n := c.ActiveSessions(); n != 0 {
			return fmt.Errorf("%d half-closed sessions still open", n)
		}
		return nil
	})
}
