package relay

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Acceptor takes connections from a listener as bare non-blocking
// sockets, which Go's poller never sees (the engine will wait on them).
// Go's poller cannot be asked to wait for a listener's readiness without
// its Accept (a listener's RawConn has no Read), so the acceptor waits on
// a duplicate of the listening descriptor, through an *os.File.
//
// Besides keeping each socket to one poller, this saves what Go's accept
// adds per connection: an epoll_ctl, a getsockname and the keep-alive
// setsockopts (HAProxy, too, leaves keep-alive off unless asked).
type Acceptor struct {
	f  *os.File
	rc syscall.RawConn
}

// NewAcceptor prepares to accept from ln. Closing ln does not wake an
// Accept: Wake does; Close releases the duplicate.
func NewAcceptor(ln *net.TCPListener) (*Acceptor, error) {
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
	f := os.NewFile(uintptr(dup), "listener") // non-blocking: Go polls it
	frc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Acceptor{f: f, rc: frc}, nil
}

// Accept waits for the next connection and returns its socket and the
// client's address; after Wake it returns os.ErrDeadlineExceeded.
func (a *Acceptor) Accept() (fd int, peer netip.AddrPort, err error) {
	var sa unix.Sockaddr
	var aerr error
	err = a.rc.Read(func(lfd uintptr) bool {
		for {
			fd, sa, aerr = unix.Accept4(int(lfd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			switch aerr {
			case unix.EAGAIN:
				return false // wait for the next connection
			case unix.ECONNABORTED, unix.EINTR:
				continue // gone before it was taken: take the next
			}
			return true
		}
	})
	if err != nil {
		return -1, peer, err
	}
	if aerr != nil {
		return -1, peer, os.NewSyscallError("accept4", aerr)
	}
	noDelay(fd)
	return fd, addrPort(sa), nil
}

// Wake makes a waiting Accept, and every later one, return.
func (a *Acceptor) Wake() { a.f.SetReadDeadline(time.Unix(1, 0)) }

// Close releases the acceptor's descriptor (the listener stays open).
func (a *Acceptor) Close() { a.f.Close() }

// Dial connects a new socket to to and, once connected, relays between
// it and client. connected is called on the loop's thread with the
// connect's outcome: nil once established, and the engine then owns
// client, relays until both directions end or one fails, closes both
// sockets and calls done, also on the loop's thread (neither may block);
// else the error (refused, os.ErrDeadlineExceeded after timeout if not
// zero, ErrKilled), and client is still the caller's. Connecting and
// relaying in one request saves a hand-off between threads per session.
func (e *Engine) Dial(to netip.AddrPort, timeout time.Duration, client int, o Options, connected func(error), done func(Result)) (*Session, error) {
	family, sa := unix.AF_INET, sockaddr(to)
	if _, v6 := sa.(*unix.SockaddrInet6); v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	noDelay(fd)
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	s := &Session{opts: o, connected: connected, done: done, idx: -1}
	s.cli = &end{fd: client, side: 'C', s: s}
	s.srv = &end{fd: fd, side: 'S', s: s}
	e.start(s, timeout)
	return s, nil
}

// LocalPort is the port fd is bound to (0 if it cannot be told): the
// port a client connected to, where servers without a port send it.
func LocalPort(fd int) int {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0
	}
	return int(addrPort(sa).Port())
}

// Close closes a socket the engine was not given.
func Close(fd int) { unix.Close(fd) }

// noDelay turns Nagle's algorithm off: a proxy passes on at once what it
// was given, and a small answer held back for an acknowledgement costs a
// round trip.
func noDelay(fd int) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr).Unmap()
		return netip.AddrPortFrom(ip, uint16(a.Port))
	}
	return netip.AddrPort{}
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	ip := ap.Addr()
	if ip.Is4() || ip.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.Unmap().As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa
}
