package core

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pivot/core/config"
)

// echoServer greets each connection with its name and a newline, then
// echoes what it reads. It counts the connections it accepted.
type echoServer struct {
	name     string
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

func startEcho(t *testing.T, name string) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{name: name, ln: ln, conns: map[net.Conn]struct{}{}}
	e.wg.Add(1)
	go e.serve()
	t.Cleanup(e.close)
	return e
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

func (e *echoServer) serve() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.accepted.Add(1)
		e.mu.Lock()
		e.conns[c] = struct{}{}
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer c.Close()
			if _, err := io.WriteString(c, e.name+"\n"); err == nil {
				io.Copy(c, c)
			}
			e.mu.Lock()
			delete(e.conns, c)
			e.mu.Unlock()
		}()
	}
}

func (e *echoServer) close() {
	e.ln.Close()
	e.mu.Lock()
	for c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// deadAddr is a 127.0.0.1 address nothing listens on: connects to it
// are refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return ln.Addr().String()
}

// startCore parses cfg (text with %s replaced by args), makes every bind
// listen on a kernel-chosen port of 127.0.0.1, and starts it.
func startCore(t *testing.T, cfg string, args ...any) *Core {
	t.Helper()
	parsed, err := config.Parse("test.cfg", []byte(fmt.Sprintf(cfg, args...)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	for _, px := range parsed.Proxies {
		for i := range px.Binds {
			px.Binds[i].Host, px.Binds[i].Port, px.Binds[i].PortEnd = "127.0.0.1", 0, 0
		}
	}
	c, err := New(parsed, Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// frontendAddr is the first listening address of a frontend.
func frontendAddr(t *testing.T, c *Core, name string) string {
	t.Helper()
	f, err := c.Frontend(name)
	if err != nil {
		t.Fatal(err)
	}
	addrs := f.Addrs()
	if len(addrs) == 0 {
		t.Fatalf("frontend %q listens nowhere", name)
	}
	return addrs[0].String()
}

// who connects, reads the greeting and closes: the name of the server
// that took the connection.
func who(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("no greeting: %w", err)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// waitFor retries try until it returns nil or d passes, then fails the
// test with try's last error.
func waitFor(t *testing.T, d time.Duration, try func() error) {
	t.Helper()
	var err error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if err = try(); err == nil {
			return
		}
	}
	t.Fatalf("after %v: %v", d, err)
}

// serverRow finds a server's stats row, or with server "BACKEND" the
// backend's own.
func serverRow(c *Core, backend, server string) (StatRow, error) {
	for _, r := range c.Stats() {
		if (r.Type == RowServer || r.Type == RowBackend) && r.Proxy == backend && r.Name == server {
			return r, nil
		}
	}
	return StatRow{}, errors.New("no row for " + backend + "/" + server)
}

// startServerFunc runs handle for each connection accepted on a
// kernel-chosen loopback port, until the test ends; it returns the
// address.
func startServerFunc(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}
