package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// server is an in-process backend: an echo server (request/response,
// connection rate, idle connections) or a sink that reads and discards
// (bulk).
type server struct {
	ln       net.Listener
	received atomic.Int64 // bytes read (sink)
	open     atomic.Int64 // connections open now
}

func startServer(addr string, echo bool) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", addr, err)
	}
	s := &server{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.open.Add(1)
			go func() {
				defer s.open.Add(-1)
				defer c.Close()
				if echo {
					// A plain loop: io.Copy would splice through a pipe
					// (two descriptors) per idle connection.
					buf := make([]byte, 4096)
					for {
						n, err := c.Read(buf)
						if n > 0 {
							if _, werr := c.Write(buf[:n]); werr != nil {
								return
							}
						}
						if err != nil {
							return
						}
					}
				}
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf)
					s.received.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return s, nil
}

// target is one way to reach the servers: directly, through HAProxy or
// through pivot, with its frontend addresses and the process behind it.
type target struct {
	name       string
	echo, sink string
	// idle reaches its own echo server, so that no connection churn of
	// an earlier run (ports in TIME_WAIT towards the echo server) gets
	// in the way of opening thousands of connections at once.
	idle string
	// redis and pg reach the real servers (empty when not installed).
	redis, pg string
	// flip balances over two greeting servers (the maint test); sock is
	// the admin socket. Proxies only.
	flip, sock string
	proc       *os.Process // nil for direct
	config     string      // the configuration it ran, for the report
}

// section is one proxy of the benchmark's configuration: a listen
// section, or a backend alone when fe is empty.
type section struct {
	name    string
	fe      string
	servers []string // named s1, s2, ...
}

// proxyConfig is the configuration HAProxy and pivotd both run: HAProxy's
// best TCP settings for this machine (a thread per core, splice when it
// pays), which pivot accepts as they are. maxpipes is set rather than
// left to its default, a quarter of maxconn, whose descriptors HAProxy
// reserves at start: no workload splices more than 8 streams at once,
// and the descriptors go to idle connections instead.
func proxyConfig(sock string, sections []section) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    nbthread %d
    maxconn %d
    maxpipes %d
    stats socket %s level admin

defaults
    mode tcp
    option splice-auto
    timeout connect 5s
    timeout client 60s
    timeout server 60s
`, numCPU(), maxconn, maxpipes, sock)
	for _, s := range sections {
		if s.fe == "" {
			fmt.Fprintf(&b, "\nbackend %s\n", s.name)
		} else {
			fmt.Fprintf(&b, "\nlisten %s\n    bind %s\n", s.name, s.fe)
		}
		for i, srv := range s.servers {
			if i == 8 && len(s.servers) > 10 {
				fmt.Fprintf(&b, "    # ... %d servers in all\n", len(s.servers))
			}
			fmt.Fprintf(&b, "    server s%d %s\n", i+1, srv)
		}
	}
	return b.String()
}

// startProxy runs bin (haproxy or pivotd) on the sections in dir and
// waits until every frontend accepts.
func startProxy(name, bin string, args []string, dir string, sections []section) (*target, error) {
	t := &target{name: name, sock: filepath.Join(dir, name+".sock")}
	cfg := proxyConfig(t.sock, sections)
	// The report shows the file with the long server list folded.
	t.config = foldServers(cfg)
	path := filepath.Join(dir, name+".cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append(args, "-f", path)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	t.proc = cmd.Process
	var fes []string
	for _, s := range sections {
		switch s.name {
		case "echo":
			t.echo = s.fe
		case "sink":
			t.sink = s.fe
		case "idle":
			t.idle = s.fe
		case "redis":
			t.redis = s.fe
		case "pg":
			t.pg = s.fe
		case "flip":
			t.flip = s.fe
		}
		if s.fe != "" {
			fes = append(fes, s.fe)
		}
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("%s exited at start:\n%s", name, b)
		default:
		}
		ready := true
		for _, a := range fes {
			ready = ready && listening(a)
		}
		if ready {
			return t, nil
		}
		if time.Now().After(end) {
			t.stop()
			return nil, fmt.Errorf("%s does not listen on all of %v", name, fes)
		}
	}
}

// foldServers keeps the first lines of a long server list.
func foldServers(cfg string) string {
	var out []string
	n := 0
	for _, l := range strings.Split(cfg, "\n") {
		if strings.HasPrefix(l, "    server ") {
			n++
			if n > 9 {
				continue
			}
		} else {
			n = 0
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// stop ends the process this benchmark started, by its PID.
func (t *target) stop() {
	if t.proc != nil {
		t.proc.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { t.proc.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.proc.Kill()
		}
	}
}

// usage is a process's resident memory (bytes) and open descriptors.
func (t *target) usage() (rss, fds int64, err error) {
	if t.proc == nil {
		return 0, 0, fmt.Errorf("no process")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", t.proc.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb << 10
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", t.proc.Pid))
	return rss, int64(len(ents)), err
}

// cpu is the CPU time (user and system) a proxy has used so far, read
// from /proc at the clock tick's resolution (10 ms: under 1% of a run).
func (t *target) cpu() (time.Duration, error) {
	if t.proc == nil {
		return 0, fmt.Errorf("no process")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", t.proc.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (in parentheses, which may hold
	// spaces): state is the first, utime and stime the 12th and 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", b)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick, nil
}

// startGreeter runs a server that writes its name and a newline to each
// connection, then closes it: which server a connection reached.
func startGreeter(addr, name string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("greeter %s: %w", addr, err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name + "\n"))
			c.Close()
		}
	}()
	return ln, nil
}
