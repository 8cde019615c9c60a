// Command pivot-demo shows pivotd at work on this machine, with nothing
// to install: it starts three demo backends on loopback, runs the pivotd
// binary in front of them, sends traffic and shows where it lands, stops a
// backend to show the health check taking it out of rotation and bringing
// it back, then walks through a maintenance with pivotctl (drain, wait for
// the last session, maint, ready) and adds and removes a server, then stops
// everything it started. `make demo` runs it.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	pivotd, pivotctl := "bin/pivotd", "bin/pivotctl"
	if len(os.Args) > 2 {
		pivotd, pivotctl = os.Args[1], os.Args[2]
	}
	if err := run(pivotd, pivotctl); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(pivotd, pivotctl string) error {
	dir, err := os.MkdirTemp("", "pivot-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var backends []*demoBackend
	for _, name := range []string{"db1", "db2", "db3", "db4"} {
		b, err := startBackend(name, "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer b.stop()
		backends = append(backends, b)
	}
	front, err := freePort()
	if err != nil {
		return err
	}
	sock := filepath.Join(dir, "admin.sock")
	cfg := fmt.Sprintf(`global
    maxconn 1000
    stats socket %s mode 600 level admin

defaults
    mode tcp
    log stdout format raw local0
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend demo_fe
    bind %s
    default_backend demo_be

backend demo_be
    balance roundrobin
    server db1 %s check inter 200ms rise 2 fall 2
    server db2 %s check inter 200ms rise 2 fall 2
    server db3 %s check inter 200ms rise 2 fall 2 weight 2
`, sock, front, backends[0].addr, backends[1].addr, backends[2].addr)
	cfgPath := filepath.Join(dir, "pivot.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	step("The configuration (an ordinary HAProxy TCP configuration)")
	fmt.Print(indent(cfg))

	step("pivotd -c checks it")
	out, err := exec.Command(pivotd, "-c", "-f", cfgPath).CombinedOutput()
	fmt.Print(indent(string(out)))
	if err != nil {
		return fmt.Errorf("pivotd -c: %v", err)
	}

	step("pivotd starts")
	var logs syncBuffer
	cmd := exec.Command(pivotd, "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}()
	if err := waitUntil(5*time.Second, func() bool { _, err := who(front); return err == nil }); err != nil {
		return fmt.Errorf("pivotd never answered on %s: %s", front, logs.String())
	}
	fmt.Printf("  listening on %s, pid %d\n", front, cmd.Process.Pid)

	step("12 connections, roundrobin with weights 1:1:2")
	if err := traffic(front, 12); err != nil {
		return err
	}

	step("db2 dies: its health check fails and it leaves the rotation")
	backends[1].stop()
	if err := waitUntil(5*time.Second, func() bool { return strings.Contains(logs.String(), "demo_be/db2 is DOWN") }); err != nil {
		return errors.New("db2 was never marked down")
	}
	fmt.Print(indent(grep(logs.String(), "db2 is DOWN")))
	if err := traffic(front, 9); err != nil {
		return err
	}

	step("db2 comes back: after rise successful checks it takes traffic again")
	if err := backends[1].restart(); err != nil {
		return err
	}
	if err := waitUntil(5*time.Second, func() bool { return strings.Contains(logs.String(), "demo_be/db2 is UP") }); err != nil {
		return errors.New("db2 never came back up")
	}
	fmt.Print(indent(grep(logs.String(), "db2 is UP")))
	if err := traffic(front, 12); err != nil {
		return err
	}

	ctl := func(args ...string) error {
		fmt.Printf("  $ pivotctl %s\n", strings.Join(args, " "))
		cmd := exec.Command(pivotctl, append([]string{"-s", sock}, args...)...)
		out, err := cmd.CombinedOutput()
		fmt.Print(indent(string(out)))
		if err != nil {
			return fmt.Errorf("pivotctl %s: %v", strings.Join(args, " "), err)
		}
		return nil
	}

	step("Looking: pivotctl show stat")
	if err := ctl("show", "stat"); err != nil {
		return err
	}

	step("Maintenance of db1: drain, its running session goes on, new ones go elsewhere")
	held, err := holdOn(front, "db1")
	if err != nil {
		return err
	}
	if err := ctl("server", "drain", "demo_be/db1"); err != nil {
		return err
	}
	if err := traffic(front, 6); err != nil {
		return err
	}
	if err := ctl("exec", "show sess"); err != nil {
		return err
	}
	fmt.Println("  the client on db1 finishes its work and disconnects in a moment;")
	fmt.Println("  pivotctl drain --wait returns when it has, then puts db1 in maintenance")
	go func() {
		time.Sleep(time.Second)
		held.Close()
	}()
	if err := ctl("drain", "--wait", "--timeout", "10s", "--then", "maint", "demo_be/db1"); err != nil {
		return err
	}
	fmt.Println("  ... db1 is upgraded here ...")
	if err := ctl("ready", "demo_be/db1"); err != nil {
		return err
	}
	if err := traffic(front, 8); err != nil {
		return err
	}

	step("A new server is added at runtime, takes traffic, and is removed")
	if err := ctl("server", "add", "demo_be/db4", backends[3].addr, "weight", "2"); err != nil {
		return err
	}
	if err := ctl("server", "ready", "demo_be/db4"); err != nil {
		return err
	}
	if err := traffic(front, 12); err != nil {
		return err
	}
	if err := ctl("server", "maint", "demo_be/db4"); err != nil {
		return err
	}
	if err := ctl("server", "del", "demo_be/db4"); err != nil {
		return err
	}
	if err := ctl("show", "stat"); err != nil {
		return err
	}

	step("SIGTERM: pivotd stops and the demo cleans up")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("pivotd exit: %v", err)
	}
	fmt.Println("  pivotd exited with status 0; backends stopped; temporary files removed")
	return nil
}

// traffic opens n connections one after the other and prints where each
// one landed.
func traffic(addr string, n int) error {
	count := map[string]int{}
	var order []string
	for range n {
		name, err := who(addr)
		if err != nil {
			return err
		}
		count[name]++
		order = append(order, name)
	}
	names := make([]string, 0, len(count))
	for k := range count {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Printf("  order: %s\n", strings.Join(order, " "))
	for _, k := range names {
		fmt.Printf("  %-4s %2d %s\n", k, count[k], strings.Repeat("#", count[k]))
	}
	return nil
}

// holdOn opens connections until one lands on server and keeps it open:
// a client in the middle of its work.
func holdOn(addr, server string) (net.Conn, error) {
	for range 20 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil, err
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		name, err := bufio.NewReader(c).ReadString('\n')
		if err == nil && strings.TrimSpace(name) == server {
			c.SetReadDeadline(time.Time{})
			fmt.Printf("  a client holds a session on %s\n", server)
			return c, nil
		}
		c.Close()
	}
	return nil, fmt.Errorf("no connection reached %s", server)
}

// who connects, reads the greeting, checks the echo and closes.
func who(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	io.WriteString(c, "ping\n")
	if echo, err := r.ReadString('\n'); err != nil || echo != "ping\n" {
		return "", fmt.Errorf("echo through pivot: got %q, %v", echo, err)
	}
	return strings.TrimSpace(name), nil
}

// demoBackend greets each connection with its name and echoes.
type demoBackend struct {
	name, addr string
	mu         sync.Mutex
	ln         net.Listener
	conns      map[net.Conn]bool
	wg         sync.WaitGroup
}

func startBackend(name, addr string) (*demoBackend, error) {
	b := &demoBackend{name: name, addr: addr}
	return b, b.listen()
}

func (b *demoBackend) listen() error {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.ln, b.addr, b.conns = ln, ln.Addr().String(), map[net.Conn]bool{}
	b.mu.Unlock()
	b.wg.Add(1)
	go b.serve(ln)
	return nil
}

func (b *demoBackend) serve(ln net.Listener) {
	defer b.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns[c] = true
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer c.Close()
			io.WriteString(c, b.name+"\n")
			io.Copy(c, c)
		}()
	}
}

func (b *demoBackend) stop() {
	b.mu.Lock()
	if b.ln != nil {
		b.ln.Close()
		b.ln = nil
	}
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *demoBackend) restart() error { return b.listen() }

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitUntil(d time.Duration, cond func() bool) error {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return nil
		}
	}
	return errors.New("timed out")
}

func step(title string) { fmt.Printf("\n== %s\n", title) }

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			b.WriteString("  | " + line)
		}
	}
	return b.String()
}

func grep(s, substr string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for the child's two output streams.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
