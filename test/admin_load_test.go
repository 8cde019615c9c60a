package test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAdminChangesUnderLoad changes states, weights and addresses
// through the admin socket hundreds of times while clients stream data
// through pivotd. No byte may be lost or altered, and no connection
// opened after `state maint` was answered may reach that server before
// `state ready` is sent. A connection may only be refused before any
// server greeted it, when the random changes left no server usable (a
// weight of 50% of 1 is 0, as in HAProxy).
func TestAdminChangesUnderLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, s2, s3, spare := startBackend(t, "s1"), startBackend(t, "s2"), startBackend(t, "s3"), startBackend(t, "s3")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr, "s2": s2.Addr, "s3": s3.Addr, "dir": dir}
	startPivot(t, `
global
    stats socket $dir/admin.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen app
    bind $fe
    balance roundrobin
    server s1 $s1 check inter 100ms
    server s2 $s2 weight 2
    server s3 $s3
`, v)
	sock := filepath.Join(dir, "admin.sock")
	waitFor(t, 5*time.Second, func() error { _, err := tryAdminSend(sock, "show cli level\n"); return err })

	var mu sync.Mutex
	type window struct{ from, to time.Time }
	var windows []window // when s1 was in maintenance, as clients could see it
	var violations []string
	var ok, refused atomic.Int64
	stop := make(chan struct{})
	var clients sync.WaitGroup
	for range 6 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			payload := make([]byte, 32<<10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				started := time.Now()
				name, err := streamEcho(v["fe"], payload)
				ended := time.Now()
				switch {
				case err == errNoGreeting:
					refused.Add(1)
					continue
				case err != nil:
					mu.Lock()
					violations = append(violations, fmt.Sprintf("stream through %q: %v", name, err))
					mu.Unlock()
					return
				}
				ok.Add(1)
				if name != "s1" {
					continue
				}
				mu.Lock()
				for _, w := range windows {
					if started.After(w.from) && (w.to.IsZero() || ended.Before(w.to)) {
						violations = append(violations, fmt.Sprintf("a connection opened at %s reached s1 in maintenance", started.Format(time.StampMicro)))
					}
				}
				mu.Unlock()
			}
		}()
	}

	send := func(line string) {
		if got := adminSend(t, sock, line+"\n"); !strings.HasSuffix(got, "\n") {
			t.Errorf("%q: %q", line, got)
		}
	}
	inMaint := false
	for i := range 300 {
		switch mrand.IntN(6) {
		case 0:
			if !inMaint {
				send("set server app/s1 state maint")
				mu.Lock()
				windows = append(windows, window{from: time.Now()})
				mu.Unlock()
				inMaint = true
			} else {
				mu.Lock()
				windows[len(windows)-1].to = time.Now()
				mu.Unlock()
				send("set server app/s1 state ready")
				inMaint = false
			}
		case 1:
			send(fmt.Sprintf("set server app/s2 weight %d", mrand.IntN(4)))
		case 2:
			send(fmt.Sprintf("set weight app/s3 %d%%", 50+mrand.IntN(150)))
		case 3:
			a := []string{s3.Addr, spare.Addr}[i%2]
			host, port, _ := net.SplitHostPort(a)
			send(fmt.Sprintf("set server app/s3 addr %s port %s", host, port))
		case 4:
			send("set server app/s2 state drain;set server app/s2 state ready")
		case 5:
			send("show stat;show servers state")
		}
	}
	if inMaint {
		mu.Lock()
		windows[len(windows)-1].to = time.Now()
		mu.Unlock()
		send("set server app/s1 state ready")
	}
	close(stop)
	clients.Wait()

	for _, v := range violations {
		t.Error(v)
	}
	if ok.Load() < 100 {
		t.Errorf("only %d exchanges completed (%d refused)", ok.Load(), refused.Load())
	}
	t.Logf("%d exchanges, %d refused with no server usable, %d maintenance windows", ok.Load(), refused.Load(), len(windows))
}

var (
	errEchoCorrupt = errors.New("echoed bytes differ from what was sent")
	errNoGreeting  = errors.New("closed before a server greeted")
)

// streamEcho connects, reads the greeting, streams payload (fresh random
// bytes) and reads it back; it returns the server's name.
func streamEcho(addr string, payload []byte) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		return "", errNoGreeting
	}
	rand.Read(payload)
	errc := make(chan error, 1)
	go func() { _, err := c.Write(payload); errc <- err }()
	got := make([]byte, len(payload))
	n, err := io.ReadFull(r, got)
	if werr := <-errc; err == nil {
		err = werr
	}
	name = strings.TrimSpace(name)
	if !bytes.Equal(got[:n], payload[:n]) {
		return name, errEchoCorrupt
	}
	if err != nil {
		err = fmt.Errorf("%d of %d bytes came back: %w", n, len(payload), err)
	}
	return name, err
}
