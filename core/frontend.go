package core

import (
	"context"
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

	// Set while open, guarded by fe.mu.
	ln *net.TCPListener
	// acc accepts from ln while the accept loop runs.
	acc *relay.Acceptor
	// stop ends the accept loop; kill also drops a connection it has
	// accepted but not yet started (a stop, not a reload's hand-over).
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

// openLocked binds every listener and starts its accept loop. On failure
// it closes what it opened and names the address that failed. f.mu must
// be held.
func (f *Frontend) openLocked() error {
	for i, l := range f.listeners {
		ln, ok := f.core.opts.Handover.Listener(l.key)
		var err error
		if !ok {
			ln, err = net.Listen(l.network, l.addr)
		}
		if err != nil {
			for _, o := range f.listeners[:i] {
				o.closeLocked()
			}
			return fmt.Errorf("frontend %q: cannot bind %s: %w", f.name, l.addr, errors.Unwrap(err))
		}
		l.addr = ln.Addr().String() // a port 0 becomes the one the kernel chose, kept for a re-enable
		l.startLocked(ln.(*net.TCPListener))
	}
	return nil
}

// startLocked runs l's accept loop on ln.
func (l *listener) startLocked(ln *net.TCPListener) {
	l.ln = ln
	acc, err := relay.NewAcceptor(ln)
	if err != nil { // out of descriptors: the socket stays bound, unused
		l.fe.core.diag.Alert(fmt.Sprintf("frontend %s: cannot accept on %s: %v", l.fe.name, l.addr, err))
		return
	}
	l.acc = acc
	l.stop, l.kill = make(chan struct{}), make(chan struct{})
	l.done.Add(1)
	go acceptLoop(l, acc, l.stop, l.kill)
}

// retireLocked ends l's accept loop but leaves the socket open, for a
// reload that gives it to another listener: a connection the loop has
// already accepted is still served, the ones in the kernel's backlog
// wait for the next loop. It returns the socket.
func (l *listener) retireLocked() *net.TCPListener {
	ln := l.ln
	l.endLoopLocked(false)
	l.ln = nil
	return ln
}

// closeAllLocked closes every listener and waits for the accept loops.
func (f *Frontend) closeAllLocked() {
	for _, l := range f.listeners {
		l.closeLocked()
	}
}

func (l *listener) closeLocked() {
	if l.ln == nil {
		return
	}
	l.endLoopLocked(true)
	l.ln.Close()
	l.ln = nil
}

// endLoopLocked stops l's accept loop and waits for it; with kill, a
// connection it holds while waiting for a slot is closed, else it is
// still served.
func (l *listener) endLoopLocked(kill bool) {
	if l.acc == nil {
		return
	}
	close(l.stop)
	if kill {
		close(l.kill)
	}
	l.acc.Wake()
	l.done.Wait()
	l.acc.Close()
	l.acc = nil
}

// acceptLoop accepts connections and starts their sessions. Each one
// needs a slot under the global, frontend and bind limits: while they
// are full, the loop holds the one connection it has just accepted and
// accepts no more, so that later clients wait in the kernel's backlog as
// they do with HAProxy, and an idle listener never holds a slot that a
// busy one needs. Temporary errors (EMFILE, ...) back off from 5 ms to 1 s.
func acceptLoop(l *listener, acc *relay.Acceptor, stop, kill <-chan struct{}) {
	defer l.done.Done()
	f := l.fe
	c := f.core
	var backoff time.Duration
	for {
		if !waitRate(&c.connRate, &c.rateLimit, stop) || !waitRate(&c.connRate, &c.sessRateLimit, stop) ||
			!waitRate(&f.cnt.Rate, &f.rateLimit, stop) {
			return
		}
		fd, peer, err := acc.Accept()
		if err != nil {
			select {
			case <-stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			c.diag.Warning(fmt.Sprintf("frontend %s: accept on %s: %v; retrying in %v", f.name, l.addr, err, backoff))
			if !c.sleepUntil(stop, backoff) {
				return
			}
			continue
		}
		backoff = 0
		if !l.acquireSlots(kill) {
			relay.Close(fd)
			return
		}
		f.startSession(l, fd, peer)
	}
}

// acquireSlots takes one slot of each limit, waiting while one is full;
// it gives back what it took and returns false if stop closes first.
func (l *listener) acquireSlots(stop <-chan struct{}) bool {
	c := l.fe.core
	if !c.global.acquire(stop) {
		return false
	}
	if !l.fe.slots.acquire(stop) {
		c.global.release()
		return false
	}
	if !l.slots.acquire(stop) {
		l.fe.slots.release()
		c.global.release()
		return false
	}
	return true
}

// startSession counts a new client connection (fd, from peer) and
// starts its session.
func (f *Frontend) startSession(l *listener, fd int, peer netip.AddrPort) {
	c := f.core
	now := time.Now()
	ctx, cancel := context.WithCancel(c.ctx)
	s := &session{
		id:       c.nextSessID.Add(1),
		fe:       f,
		l:        l,
		be:       f.backend.Load(),
		client:   fd,
		peer:     peer,
		accepted: now,
		ctx:      ctx,
		cancel:   cancel,
	}
	f.cnt.startSession(now)
	f.cnt.ConnTot.Add(1)
	f.cnt.ConnRate.add(now)
	l.cnt.startSession(now)
	c.connRate.add(now)
	c.actconn.Add(1)
	c.sessions.add(s)
	c.sessWG.Add(1)
	s.start()
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
