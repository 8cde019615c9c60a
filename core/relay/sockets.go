package relay

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Listener is a listening TCP socket that only the engine waits on: it
// hands out connections as bare non-blocking sockets, which Go's poller
// never sees either (the engine will wait on them).
//
// Outside Go's poller, a new connection wakes one loop (Engine.Watch
// registers it exclusively) and nothing else. Left in it, every
// connection also woke a thread parked in Go's own epoll_wait for
// nothing: under redis-benchmark -k 0 (a connection per request) pivotd
// made 2.4 epoll_waits per connection, 0.9 of them Go's, and 1.5 context
// switches, against HAProxy's 0.7 and 0.4; with the socket out, 0.9 and
// 0.6, and 13% less CPU per connection.
//
// Accepting here also saves what Go's accept adds per connection: an
// epoll_ctl, a getsockname and the keep-alive setsockopts (HAProxy, too,
// leaves keep-alive off unless asked).
type Listener struct {
	fd   int
	addr net.Addr
}

// Detach takes ln's socket from Go: the Listener keeps a duplicate of its
// descriptor and closes ln, which Go takes out of its poller as it closes
// it, while the duplicate keeps the socket open and listening: no
// connection is refused or lost. ln is closed even when Detach fails.
func Detach(ln *net.TCPListener) (*Listener, error) {
	defer ln.Close()
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("dup", derr)
	}
	l := &Listener{fd: dup, addr: ln.Addr()}
	// Accepted sockets inherit TCP_NODELAY from the listening one: one
	// setsockopt per connection fewer (of 19 system calls pivotd makes
	// for each under the connection-rate run).
	noDelay(dup)
	return l, nil
}

// Addr is the address the socket is bound to.
func (l *Listener) Addr() net.Addr { return l.addr }

// FD is the descriptor to watch for new connections.
func (l *Listener) FD() int { return l.fd }

// TryAccept takes a waiting connection without waiting: its socket and
// the client's address, or an error that wraps EAGAIN when none waits.
func (l *Listener) TryAccept() (fd int, peer netip.AddrPort, err error) {
	for {
		var sa unix.RawSockaddrAny
		size := uint32(unix.SizeofSockaddrAny)
		// The system call itself: unix.Accept4 asks every IPv4 socket
		// for its protocol (a getsockopt per connection, 5% of the
		// system calls under the connection-rate run) to tell L2TP
		// apart, which a TCP listener never needs.
		nfd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(l.fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)),
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch errno {
		case 0:
			return int(nfd), rawAddrPort(&sa), nil
		case unix.ECONNABORTED, unix.EINTR:
			continue // gone before it was taken: take the next
		}
		if errno == unix.EAGAIN {
			return -1, peer, errAcceptAgain // every batch ends with it
		}
		return -1, peer, os.NewSyscallError("accept4", errno)
	}
}

// errAcceptAgain is TryAccept's "none waits", made once.
var errAcceptAgain = os.NewSyscallError("accept4", unix.EAGAIN)

// rawAddrPort reads an IPv4 or IPv6 address from what the kernel wrote
// (accept4, getsockname).
func rawAddrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), binary.BigEndian.Uint16(portBytes(&in.Port)))
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom16(in.Addr).Unmap(), binary.BigEndian.Uint16(portBytes(&in.Port)))
	}
	return netip.AddrPort{}
}

// portBytes is a socket address's port as the kernel keeps it, in
// network order whatever the host's.
func portBytes(p *uint16) []byte { return (*[2]byte)(unsafe.Pointer(p))[:] }

// Close closes the socket: connections still in its backlog are reset.
// Stop the watch on it first.
func (l *Listener) Close() { unix.Close(l.fd) }

// Handler hears what becomes of a session Dial started, on the loop's
// thread (it must not block). One value per session rather than two
// closures: the closures and what they captured were a third of the
// allocations made per connection.
type Handler interface {
	// Connected is the connect's outcome: nil once established, and the
	// engine then owns the client's socket, relays until both
	// directions end or one fails, closes both sockets and calls
	// Ended; else the error (refused, os.ErrDeadlineExceeded after the
	// timeout, ErrKilled), and the client's socket is still the
	// caller's.
	Connected(err error)
	// Ended is how the relay ended.
	Ended(r Result)
}

// Dial connects a new socket to to and, once connected, relays between
// it and client, telling h (see Handler). Connecting and relaying in one
// request saves a hand-off between threads per session. on is the loop
// whose thread calls Dial (from a Watch callback), which the session
// then stays on; nil lets the engine pick one. timeout bounds the
// connect (zero: no bound).
func (e *Engine) Dial(on *Loop, to netip.AddrPort, timeout time.Duration, client int, o Options, h Handler) (*Session, error) {
	fd, err := connect(to)
	if err != nil {
		return nil, err
	}
	s := &Session{opts: o, h: h, idx: -1, connectTimeout: timeout}
	s.cli, s.srv = end{fd: client, side: 'C', s: s}, end{fd: fd, side: 'S', s: s}
	e.start(on, s)
	return s, nil
}

// connect opens a non-blocking socket and starts connecting it to to.
func connect(to netip.AddrPort) (int, error) {
	// The address on the stack, for the system call itself: unix.Connect
	// takes it as an interface, a heap allocation per connection.
	var sa unix.RawSockaddrAny
	size := putAddrPort(&sa, to)
	fd, err := unix.Socket(int(sa.Addr.Family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	noDelay(fd)
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(size))
	if errno != 0 && errno != unix.EINPROGRESS {
		unix.Close(fd)
		return -1, os.NewSyscallError("connect", errno)
	}
	return fd, nil
}

// Watch is a descriptor every loop of an engine waits on, such as a
// listening socket, with what to do when it is ready.
type Watch struct {
	e       *Engine
	fd      int
	ready   func(on *Loop) (more bool)
	stopped atomic.Bool
}

// Watch calls ready on a loop's thread, with that loop, each time fd
// becomes readable (and after Kick). Every loop watches fd, and one edge
// wakes one loop (EPOLLEXCLUSIVE), so that the cores share the accepting
// as HAProxy's threads do. ready may run on two loops at once, and must
// not block; edge triggered, it must take all that waits, or return
// more to be called again after the loop's other work.
func (e *Engine) Watch(fd int, ready func(on *Loop) (more bool)) (*Watch, error) {
	w := &Watch{e: e, fd: fd, ready: ready}
	errs := make(chan error, len(e.loops))
	for _, l := range e.loops {
		l.post(func() {
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET | unix.EPOLLEXCLUSIVE, Fd: int32(fd)}
			err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
			if err == nil {
				l.ends[int32(fd)] = &end{fd: fd, watch: w}
			}
			errs <- err
		})
	}
	var first error
	for range e.loops {
		if err := <-errs; err != nil && first == nil {
			first = os.NewSyscallError("epoll_ctl", err)
		}
	}
	if first != nil {
		w.Stop()
		return nil, first
	}
	return w, nil
}

// Kick runs ready soon on one loop, as if fd had become readable.
func (w *Watch) Kick() {
	l := w.e.pick(nil)
	l.post(func() { w.fire(l) })
}

// fire runs ready on l unless the watch was stopped, and again later
// when it asks.
func (w *Watch) fire(l *Loop) {
	if !w.stopped.Load() && w.ready(l) {
		w.Kick()
	}
}

// Stop ends the watch; once it returns, ready runs no more. It must not
// be called from ready.
func (w *Watch) Stop() {
	w.stopped.Store(true)
	var wg sync.WaitGroup
	for _, l := range w.e.loops {
		wg.Add(1)
		l.post(func() {
			defer wg.Done()
			if e := l.ends[int32(w.fd)]; e != nil && e.watch == w {
				delete(l.ends, int32(w.fd))
				unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
			}
		})
	}
	wg.Wait()
}

// LocalPort is the port fd is bound to (0 if it cannot be told): the
// port a client connected to, where servers without a port send it.
func LocalPort(fd int) int {
	var sa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	// Raw, as in TryAccept: unix.Getsockname adds a getsockopt.
	_, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return 0
	}
	return int(rawAddrPort(&sa).Port())
}

// Close closes a socket the engine was not given.
func Close(fd int) { unix.Close(fd) }

// noDelay turns Nagle's algorithm off: a proxy passes on at once what it
// was given, and a small answer held back for an acknowledgement costs a
// round trip.
func noDelay(fd int) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
}

// putAddrPort writes ap into sa as the kernel reads it, and returns its
// length: IPv4 (also for an IPv4-mapped address) or IPv6, with the
// zone's interface index.
func putAddrPort(sa *unix.RawSockaddrAny, ap netip.AddrPort) uint32 {
	ip := ap.Addr()
	if ip.Is4() || ip.Is4In6() {
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		in.Family, in.Addr = unix.AF_INET, ip.Unmap().As4()
		binary.BigEndian.PutUint16(portBytes(&in.Port), ap.Port())
		return unix.SizeofSockaddrInet4
	}
	in := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
	in.Family, in.Addr = unix.AF_INET6, ip.As16()
	binary.BigEndian.PutUint16(portBytes(&in.Port), ap.Port())
	if z := ip.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			in.Scope_id = uint32(ifi.Index)
		}
	}
	return unix.SizeofSockaddrInet6
}
