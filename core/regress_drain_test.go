package core

import (
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
