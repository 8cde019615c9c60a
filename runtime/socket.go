// Package runtime is pivot's control plane: the admin sockets that speak
// HAProxy's Runtime API. It reads command lines, checks access levels,
// calls core's API and writes HAProxy's answers. No rule about what a
// state change means lives here.
//
//	rt, err := runtime.New(engine, cfg.Global, runtime.Options{Version: "1.0"})
//	if err := rt.Start(); err != nil { ... } // opens every `stats socket`
//	defer rt.Stop()
package runtime

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pivot/core"
	"pivot/core/config"
	"pivot/core/handover"
	"pivot/core/logging"
)

// DefaultTimeout is how long an admin connection may stay idle when
// `stats timeout` is not set (HAProxy's default).
const DefaultTimeout = 10 * time.Second

// maxClients caps concurrent admin connections over all sockets, as
// HAProxy's `stats maxconn` default does. A connection waiting for a slot
// longer than the idle timeout is closed.
const maxClients = 10

// Options are what the daemon passes besides the configuration.
type Options struct {
	Version     string // shown by `show version` and `show info`
	ReleaseDate string // YYYY/MM/DD
	Diag        *logging.DiagLogger
	// Reload re-reads the configuration and applies it (the `reload`
	// command); it returns what changed. nil: the command is refused.
	Reload func() ([]string, error)
	// Handover holds the admin sockets of the pivotd this one replaces:
	// a socket with the same address is taken over rather than bound.
	Handover *handover.Pool
}

// Server serves the admin sockets of one running core.
type Server struct {
	core    *core.Core
	opts    Options
	timeout atomic.Int64 // idle limit of a connection, ns; a reload may change it
	slots   chan struct{}

	mu      sync.Mutex
	sockets []*socket
	stop    chan struct{}
	conns   map[net.Conn]struct{} // live admin connections, closed by Stop
	wg      sync.WaitGroup

	stopOnce sync.Once
}

// socket is one `stats socket` line, open.
type socket struct {
	cfg   config.StatsSocket
	level Level
	ln    net.Listener
	name  string // as `show cli sockets` prints it: unix@PATH or ipv4@IP:PORT
	path  string // Unix socket file to remove on stop; "" for TCP
}

// New prepares the admin sockets of global for c. Nothing is opened yet.
func New(c *core.Core, global config.Global, opts Options) (*Server, error) {
	s := &Server{core: c, opts: opts, slots: make(chan struct{}, maxClients)}
	s.setTimeout(global.StatsTimeout)
	for _, sc := range global.StatsSockets {
		sock, err := newSocket(sc)
		if err != nil {
			return nil, err
		}
		s.sockets = append(s.sockets, sock)
	}
	return s, nil
}

func newSocket(sc config.StatsSocket) (*socket, error) {
	level, err := ParseLevel(sc.Level)
	if err != nil {
		return nil, fmt.Errorf("stats socket %s: %w", sc.Addr, err)
	}
	return &socket{cfg: sc, level: level}, nil
}

// setTimeout is `stats timeout`, HAProxy's default when unset.
func (s *Server) setTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultTimeout
	}
	s.timeout.Store(int64(d))
}

// Reconfigure applies a reloaded global section: sockets whose line did
// not change stay open (with their connections, the one that asked for
// the reload among them); changed ones are reopened, removed ones
// closed, new ones opened. It returns what changed, one line each.
func (s *Server) Reconfigure(global config.Global) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setTimeout(global.StatsTimeout)
	var changes []string
	same := func(a, b config.StatsSocket) bool { a.Pos, b.Pos = config.Pos{}, config.Pos{}; return a == b }
	var next []*socket
	for _, sock := range s.sockets {
		if slices.ContainsFunc(global.StatsSockets, func(sc config.StatsSocket) bool { return same(sc, sock.cfg) }) {
			next = append(next, sock)
			continue
		}
		sock.close()
		changes = append(changes, "stats socket "+sock.cfg.Addr+" closed")
	}
	for _, sc := range global.StatsSockets {
		if slices.ContainsFunc(next, func(sock *socket) bool { return same(sc, sock.cfg) }) {
			continue
		}
		sock, err := newSocket(sc)
		if err == nil {
			err = sock.open(nil)
		}
		if err != nil {
			changes = append(changes, fmt.Sprintf("stats socket %s: not opened: %v", sc.Addr, err))
			continue
		}
		next = append(next, sock)
		s.wg.Add(1)
		go s.acceptLoop(sock)
		changes = append(changes, "stats socket "+sc.Addr+" opened")
	}
	s.sockets = next
	return changes
}

// Start opens every socket and starts serving. If one cannot be opened,
// the ones already open are closed and the error names the socket.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop = make(chan struct{})
	for i, sock := range s.sockets {
		if err := sock.open(s.opts.Handover); err != nil {
			for _, o := range s.sockets[:i] {
				o.close()
			}
			return fmt.Errorf("stats socket %s: %w", sock.cfg.Addr, err)
		}
		s.wg.Add(1)
		go s.acceptLoop(sock)
	}
	return nil
}

// key names the socket in a handover.
func (sock *socket) key() string { return "admin " + sock.cfg.Addr }

// ListenerFiles duplicates the open admin sockets for a handover; the
// caller closes the files.
func (s *Server) ListenerFiles() map[string]*os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	files := map[string]*os.File{}
	for _, sock := range s.sockets {
		if sock.ln == nil {
			continue
		}
		if fd, err := handover.File(sock.ln, sock.key()); err == nil {
			files[sock.key()] = fd
		}
	}
	return files
}

// Release is Stop for a process that handed its sockets over: the Unix
// socket files, now served by the new process, stay.
func (s *Server) Release() {
	s.mu.Lock()
	for _, sock := range s.sockets {
		sock.path = ""
	}
	s.mu.Unlock()
	s.Stop()
}

// Stop closes the sockets and every admin connection, and waits for
// them. It may be called more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		if s.stop != nil {
			close(s.stop)
			for _, sock := range s.sockets {
				sock.close()
			}
			for conn := range s.conns {
				conn.Close()
			}
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

// open listens on the socket's address. A Unix socket is created under a
// temporary name, given its mode and owner, then renamed over the final
// path, so that a stale file left by a crashed run is replaced atomically
// and clients never see a socket with the wrong permissions. A path that a
// live process still answers on is refused, not stolen.
func (sock *socket) open(pool *handover.Pool) error {
	addr := sock.cfg.Addr
	if ln, ok := pool.Listener(sock.key()); ok {
		sock.ln, sock.name = ln, "unix@"+addr
		if _, isTCP := ln.(*net.TCPListener); isTCP {
			sock.name = strings.SplitN(addr, "@", 2)[0] + "@" + ln.Addr().String()
		} else {
			sock.path = addr
		}
		return nil
	}
	if proto, hostport, ok := strings.Cut(addr, "@"); ok && (proto == "ipv4" || proto == "ipv6") {
		network := "tcp4"
		if proto == "ipv6" {
			network = "tcp6"
		}
		ln, err := net.Listen(network, hostport)
		if err != nil {
			return err
		}
		sock.ln, sock.name = ln, proto+"@"+ln.Addr().String()
		return nil
	}
	path := addr
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return errors.New("another process is serving this socket")
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid())+".tmp")
	os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	fail := func(err error) error {
		ln.Close()
		os.Remove(tmp)
		return err
	}
	if sock.cfg.Mode != 0 {
		if err := os.Chmod(tmp, sock.cfg.Mode); err != nil {
			return fail(err)
		}
	}
	uid, gid, err := sock.owner()
	if err != nil {
		return fail(err)
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(tmp, uid, gid); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	sock.ln, sock.name, sock.path = ln, "unix@"+path, path
	return nil
}

// owner resolves the socket's uid and gid (-1: leave as is).
func (sock *socket) owner() (int, int, error) {
	uid, gid := sock.cfg.UID, sock.cfg.GID
	if sock.cfg.User != "" {
		u, err := user.Lookup(sock.cfg.User)
		if err != nil {
			return 0, 0, err
		}
		uid, _ = strconv.Atoi(u.Uid)
	}
	if sock.cfg.Group != "" {
		g, err := user.LookupGroup(sock.cfg.Group)
		if err != nil {
			return 0, 0, err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}

func (sock *socket) close() {
	if sock.ln == nil {
		return
	}
	sock.ln.Close()
	if sock.path != "" {
		os.Remove(sock.path)
	}
	sock.ln = nil
}

// acceptLoop accepts admin connections on one socket. Each connection
// waits for one of the maxClients slots, at most the idle timeout.
func (s *Server) acceptLoop(sock *socket) {
	defer s.wg.Done()
	ln := sock.ln
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		t := time.NewTimer(time.Duration(s.timeout.Load()))
		select {
		case s.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			conn.Close()
			continue
		case <-s.stop:
			t.Stop()
			conn.Close()
			return
		}
		s.wg.Add(1)
		go s.serveAdminConn(sock, conn)
	}
}

// hostname is `show info`'s node: the machine's name.
func hostname() string {
	h, _ := os.Hostname()
	return h
}
