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
	proc      *os.Process // nil for direct
	config    string      // the configuration it ran, for the report
}

// proxyConfig is the configuration HAProxy and pivotd both run: HAProxy's
// best TCP settings for this machine (a thread per core, splice when it
// pays), which pivot accepts as they are.
func proxyConfig(echoFE, sinkFE, idleFE, echoBE, sinkBE, idleBE string, extra ...section) string {
	var more strings.Builder
	for _, s := range extra {
		fmt.Fprintf(&more, "\nlisten %s\n    bind %s\n    server s1 %s\n", s.name, s.fe, s.be)
	}
	return fmt.Sprintf(`global
    nbthread %d
    maxconn %d

defaults
    mode tcp
    option splice-auto
    timeout connect 5s
    timeout client 60s
    timeout server 60s

listen echo
    bind %s
    server s1 %s

listen sink
    bind %s
    server s1 %s

listen idle
    bind %s
    server s1 %s
`, numCPU(), maxconn, echoFE, echoBE, sinkFE, sinkBE, idleFE, idleBE) + more.String()
}

// section is one more `listen` of the proxies' configuration.
type section struct{ name, fe, be string }

// startProxy runs bin (haproxy or pivotd) on cfg in dir and waits until
// both frontends accept.
func startProxy(name, bin string, args []string, cfg, dir, echoFE, sinkFE, idleFE string) (*target, error) {
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
	t := &target{name: name, echo: echoFE, sink: sinkFE, idle: idleFE, proc: cmd.Process, config: cfg}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("%s exited at start:\n%s", name, b)
		default:
		}
		if listening(echoFE) && listening(sinkFE) && listening(idleFE) {
			return t, nil
		}
		if time.Now().After(end) {
			t.stop()
			return nil, fmt.Errorf("%s does not listen on %s and %s", name, echoFE, sinkFE)
		}
	}
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
