package core

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"pivot/core/config"
	"pivot/core/logging"
	"pivot/core/relay"
)

// FrontendState is what `show stat` says of a frontend.
type FrontendState int

// A frontend is open (accepting), paused by `disable frontend` (its
// sockets closed, it can be enabled again) or stopped for good
// (`shutdown frontend`, or `disabled` in the configuration).
const (
	FrontendOpen FrontendState = iota
	FrontendPaused
	FrontendStopped
)

// Frontend accepts client connections on its binds and hands each to its
// default backend.
type Frontend struct {
	core *Core
	// cfg, backend and log are replaced by a reload while sessions run.
	cfg     atomic.Pointer[config.Proxy]
	name    string
	id      int
	backend atomic.Pointer[Backend]
	log     atomic.Pointer[logging.Logger]
	cnt     Counters
	slots   *limiter // frontend maxconn
	// rateLimit is `rate-limit sessions`: new sessions per second, 0 = none.
	rateLimit atomic.Int64

	mu sync.Mutex
	// Guarded by mu.
	state     FrontendState
	listeners []*listener
}

// listener is one bound address of a frontend.
type listener struct {
	fe   *Frontend
	name string // bind `name`, else sock-<id>
	id   int
	addr string // host:port as passed to net.Listen
	// network is "tcp4" for `*`, `:port` and IPv4 addresses (HAProxy
	// binds those on IPv4 only), "tcp6" for IPv6 with v6only, else "tcp".
	network string
	slots   *limiter
	cnt     Counters
	// key names the socket in a handover: its network and configured
	// address, numbered when several binds share them (":0").
	key string

	// Set while open, guarded by fe.mu. ln is accepted from on the relay
	// loops, which watch it (watch, set while accepting), and in the
	// accept goroutine while a limit makes accepting wait (accept.go).
	ln    *relay.Listener
	watch *relay.Watch
	// waiting is set while the accept goroutine has the accepting;
	// handoff passes it what a loop could not finish.
	waiting atomic.Bool
	handoff chan handoff
	// stop ends the accept goroutine; kill also drops a connection it
	// has accepted but not yet started (a stop, not a reload's
	// hand-over).
	stop, kill chan struct{}
	done       sync.WaitGroup
}

// conf is the frontend's configuration section.
func (f *Frontend) conf() *config.Proxy { return f.cfg.Load() }

// Name is the frontend's name.
func (f *Frontend) Name() string { return f.name }

func newFrontend(c *Core, px *config.Proxy, be *Backend, log *logging.Logger) *Frontend {
	f := &Frontend{core: c, name: px.Name, id: px.ID}
	f.cfg.Store(px)
	f.backend.Store(be)
	f.log.Store(log)
	f.slots = newLimiter(c.frontendMaxconn(px))
	f.rateLimit.Store(int64(px.RateLimitSessions))
	if px.Disabled {
		f.state = FrontendStopped
	}
	n := 0
	for _, b := range px.Binds {
		last := max(b.PortEnd, b.Port)
		for port := b.Port; port <= last; port++ {
			n++
			l := &listener{fe: f, id: n, addr: net.JoinHostPort(b.Host, strconv.Itoa(port)), network: bindNetwork(b)}
			if b.ID != 0 && b.Port == last {
				l.id = b.ID
			}
			l.name = b.Name
			if l.name == "" {
				l.name = "sock-" + strconv.Itoa(l.id)
			}
			l.slots = newLimiter(b.MaxConn)
			f.listeners = append(f.listeners, l)
		}
	}
	return f
}

// openLocked binds every listener and starts accepting on it. On failure
// it closes what it opened and names the address that failed. f.mu must
// be held.
func (f *Frontend) openLocked() error {
	for i, l := range f.listeners {
		ln, err := f.core.listen(l)
		if err != nil {
			for _, o := range f.listeners[:i] {
				o.closeLocked()
			}
			return fmt.Errorf("frontend %q: cannot bind %s: %w", f.name, l.addr, err)
		}
		l.addr = ln.Addr().String() // a port 0 becomes the one the kernel chose, kept for a re-enable
		l.startLocked(ln)
	}
	return nil
}

// listen opens l's socket: the one an old process handed over under its
// key, else a new one; either way outside Go's poller (relay.Detach).
// The error is the system's ("bind: address already in use").
func (c *Core) listen(l *listener) (*relay.Listener, error) {
	ln, ok := c.opts.Handover.Listener(l.key)
	if !ok {
		var err error
		if ln, err = net.Listen(l.network, l.addr); err != nil {
			return nil, errors.Unwrap(err) // the address is said already
		}
	}
	return relay.Detach(ln.(*net.TCPListener))
}

// retireLocked stops accepting on l but leaves the socket open, for a
// reload that gives it to another listener: a connection already
// accepted is still served, the ones in the kernel's backlog wait for
// the next listener. It returns the socket.
func (l *listener) retireLocked() *relay.Listener {
	ln := l.ln
	l.stopAcceptingLocked(false)
	l.ln = nil
	return ln
}

// closeAllLocked closes every listener and waits until none accepts.
func (f *Frontend) closeAllLocked() {
	for _, l := range f.listeners {
		l.closeLocked()
	}
}

func (l *listener) closeLocked() {
	if l.ln == nil {
		return
	}
	l.stopAcceptingLocked(true)
	l.ln.Close()
	l.ln = nil
}

// startSession counts a new client connection (fd, from peer) and
// starts its session.
func (f *Frontend) startSession(l *listener, fd int, peer netip.AddrPort, on *relay.Loop) {
	c := f.core
	now := time.Now()
	s := &session{
		id:       c.nextSessID.Add(1),
		fe:       f,
		l:        l,
		be:       f.backend.Load(),
		client:   fd,
		peer:     peer,
		accepted: now,
	}
	f.cnt.startSession(now)
	f.cnt.ConnTot.Add(1)
	f.cnt.ConnRate.add(now)
	l.cnt.startSession(now)
	c.connRate.add(now)
	c.actconn.Add(1)
	c.sessions.add(s)
	c.sessWG.Add(1)
	s.start(on)
}

// bindNetwork chooses the socket family of a bind as HAProxy does.
func bindNetwork(b config.Bind) string {
	ip, err := netip.ParseAddr(b.Host)
	switch {
	case b.Host == "" || err == nil && ip.Is4():
		return "tcp4"
	case b.V6Only:
		return "tcp6"
	}
	return "tcp"
}

// Addrs returns the addresses the frontend listens on now (none while
// paused or stopped), in bind order.
func (f *Frontend) Addrs() []net.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []net.Addr
	for _, l := range f.listeners {
		if l.ln != nil {
			list = append(list, l.ln.Addr())
		}
	}
	return list
}
