package core

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"pivot/core/config"
	"pivot/core/logging"
)

// This file is the API through which the admin socket changes a running
// configuration. Each call validates first and changes nothing when it
// refuses; each change takes effect for the very next connection.

// Frontend finds a frontend by name.
func (c *Core) Frontend(name string) (*Frontend, error) {
	if f := c.top().frontends[name]; f != nil {
		return f, nil
	}
	return nil, &NotFoundError{Kind: "frontend", Name: name}
}

// Backend finds a backend by name.
func (c *Core) Backend(name string) (*Backend, error) {
	if b := c.top().backends[name]; b != nil {
		return b, nil
	}
	return nil, &NotFoundError{Kind: "backend", Name: name}
}

// changeServer is withServer for a change an operator makes: once fn has
// succeeded, the state file is written before the call returns.
func (c *Core) changeServer(backend, server string, fn func(b *Backend, s *Server, now time.Time) error) error {
	return c.saved(c.withServer(backend, server, fn))
}

// saved writes the state file after a change that succeeded (err nil),
// so that what an operator changed survives a crash as soon as the
// command has answered; it returns err.
func (c *Core) saved(err error) error {
	if err == nil {
		c.saveState()
	}
	return err
}

// withServer runs fn with the backend's lock held and the named server.
func (c *Core) withServer(backend, server string, fn func(b *Backend, s *Server, now time.Time) error) error {
	b, err := c.Backend(backend)
	if err != nil {
		return err
	}
	done := c.lockTracking(b)
	s := b.serverLocked(server)
	defer func() { done(s) }()
	if s == nil {
		return &NotFoundError{Kind: "server", Backend: backend, Name: server}
	}
	return fn(b, s, time.Now())
}

// SetServerState sets the operator's admin state of a server: ready
// clears the operator's maintenance and drain, drain sets drain (and
// clears maintenance), maint sets maintenance (and clears drain), as
// HAProxy's `set server ... state` does.
func (c *Core) SetServerState(backend, server string, st AdminState) error {
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if st != StateReady && st != StateDrain && st != StateMaint {
			return refuse(ErrBadValue, "state %d", int(st))
		}
		b.setAdminLocked(s, s.admin.with(st), byOperator, now)
		return nil
	})
}

// SetServerWeight sets a server's weight, absolute (0..256) or as a
// percentage of its initial weight (clamped to 256). A static-rr backend
// only takes 0% and 100%.
func (c *Core) SetServerWeight(backend, server string, value int, percent bool) error {
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		return b.setWeightLocked(s, value, percent, now)
	})
}

// setWeightLocked is SetServerWeight for a server whose backend lock is
// held; an agent's "N%" comes here too.
func (b *Backend) setWeightLocked(s *Server, value int, percent bool, now time.Time) error {
	w := value
	if percent {
		if value < 0 {
			return ErrWeightNegative
		}
		w = min(s.initial.Weight*value/100, config.MaxWeight)
	} else if value < 0 || value > config.MaxWeight {
		return ErrWeightRange
	}
	if b.algo.static() && w != 0 && w != s.initial.Weight {
		return ErrStaticWeight
	}
	if w != s.uweight {
		s.uweight = w
		b.publishLocked(now)
	}
	return nil
}

// ServerWeight returns a server's current (user) and initial weights.
func (c *Core) ServerWeight(backend, server string) (cur, initial int, err error) {
	err = c.withServer(backend, server, func(_ *Backend, s *Server, _ time.Time) error {
		cur, initial = s.uweight, s.initial.Weight
		return nil
	})
	return cur, initial, err
}

// AddrChange describes what SetServerAddr changed, for HAProxy's reply.
type AddrChange struct {
	OldHost, NewHost string
	OldPort, NewPort int
}

// SetServerAddr points new connections of a server at another address
// and, when port > 0, another port. Running sessions stay where they are.
func (c *Core) SetServerAddr(backend, server, host string, port int) (AddrChange, error) {
	var ch AddrChange
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ch, refuse(ErrBadValue, "address %q is not an IPv4 or IPv6 address", host)
	}
	if port < 0 || port > 65535 {
		return ch, refuse(ErrBadValue, "port %d is out of range 1-65535", port)
	}
	err = c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		old := s.addr.Load()
		ch = AddrChange{OldHost: old.host, NewHost: ip.String(), OldPort: old.port, NewPort: old.port}
		if port > 0 {
			ch.NewPort = port
		}
		s.addr.Store(newServerAddr(ip.String(), ip.Unmap(), ch.NewPort))
		return nil
	})
	return ch, err
}

// SetServerHealth forces a server's operational state, as if checks had
// found it so: up (full health), stopping (NOLB) or down (health 0).
func (c *Core) SetServerHealth(backend, server string, h Health) error {
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if s.track != nil {
			return ErrTracking
		}
		switch h {
		case HealthUp:
			s.check.health = s.check.full()
			b.setOpLocked(s, OpRunning, byOperator, "changed from CLI", now)
		case HealthStopping:
			s.check.health = s.check.full()
			b.setOpLocked(s, OpStopping, byOperator, "changed from CLI", now)
		case HealthDown:
			s.check.health = 0
			b.setOpLocked(s, OpStopped, byOperator, "changed from CLI", now)
		default:
			return refuse(ErrBadValue, "health %d", int(h))
		}
		return nil
	})
}

// SetServerAgent forces the agent's verdict on a server (`set server
// ... agent up|down`) until its next answer, as HAProxy does: down takes
// the server down, up brings it up.
func (c *Core) SetServerAgent(backend, server string, up bool) error {
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if !s.agent.enabled {
			return ErrNoAgent
		}
		if up {
			s.agent.health = s.agent.full()
			b.setOpLocked(s, OpRunning, byOperator, "changed from CLI", now)
		} else {
			s.agent.health = 0
			b.setOpLocked(s, OpStopped, byOperator, "changed from CLI", now)
		}
		return nil
	})
}

// SetServerAgentEnabled enables or disables a server's agent checks
// (`enable|disable agent`). A disabled agent no longer holds the server
// down, but nothing is brought up until a check says so.
func (c *Core) SetServerAgentEnabled(backend, server string, on bool) error {
	return c.setLoopEnabled(backend, server, on, func(s *Server) *checkState { return &s.agent }, ErrAgentNotConfigured)
}

// setLoopEnabled enables or disables a server's check or agent (which
// picks it), refusing with notConfigured when the server has none.
func (c *Core) setLoopEnabled(backend, server string, on bool, which func(*Server) *checkState, notConfigured error) error {
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		st := which(s)
		if !st.configured {
			return notConfigured
		}
		if st.enabled == on {
			return nil
		}
		st.enabled = on
		if on {
			c.startLoopLocked(s, st)
		}
		b.publishLocked(now)
		return nil
	})
}

// ServerAgentEnabled reports whether a server's agent check is enabled.
func (c *Core) ServerAgentEnabled(backend, server string) (on bool, err error) {
	err = c.withServer(backend, server, func(_ *Backend, s *Server, _ time.Time) error {
		on = s.agent.enabled
		return nil
	})
	return on, err
}

// SetServerAgentTarget changes where a server's agent is asked: host
// (an IP address, "" keeps it) and port (-1 keeps it). As in HAProxy
// only an enabled agent can be moved.
func (c *Core) SetServerAgentTarget(backend, server, host string, port int) error {
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return refuse(ErrBadValue, "agent address %q is not an IPv4 or IPv6 address", host)
		}
	}
	if port < -1 || port > 65535 {
		return refuse(ErrBadValue, "agent port %d is out of range", port)
	}
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if !s.agent.enabled {
			return ErrNoAgent
		}
		if host != "" {
			s.agent.addr = host
		}
		if port >= 0 {
			s.agent.port = port
		}
		return nil
	})
}

// SetServerAgentSend changes what a server's agent is sent on connect.
func (c *Core) SetServerAgentSend(backend, server, send string) error {
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if !s.agent.enabled {
			return ErrNoAgent
		}
		s.agent.send = send
		return nil
	})
}

// SetServerCheckEnabled enables or disables a server's health checks
// (`enable|disable health`). Disabling keeps the current operational
// state; enabling resumes checking at once.
func (c *Core) SetServerCheckEnabled(backend, server string, on bool) error {
	return c.setLoopEnabled(backend, server, on, func(s *Server) *checkState { return &s.check }, ErrNoCheck)
}

// SetServerCheckAddr sends a server's checks to another address and,
// when port > 0, port.
func (c *Core) SetServerCheckAddr(backend, server, host string, port int) error {
	if _, err := netip.ParseAddr(host); err != nil {
		return refuse(ErrBadValue, "check address %q is not an IPv4 or IPv6 address", host)
	}
	if port < 0 || port > 65535 {
		return refuse(ErrBadValue, "check port %d is out of range 1-65535", port)
	}
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if !s.check.configured {
			return ErrNoCheck
		}
		s.check.addr = host
		if port > 0 {
			s.check.port = port
		}
		return nil
	})
}

// SetServerCheckPort sends a server's checks to another port.
func (c *Core) SetServerCheckPort(backend, server string, port int) error {
	if port < 1 || port > 65535 {
		return refuse(ErrBadValue, "check port %d is out of range 1-65535", port)
	}
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if !s.check.configured {
			return ErrNoCheck
		}
		s.check.port = port
		return nil
	})
}

// SetServerMaxconn changes a server's connection limit (0: unlimited);
// connections queued for it are let in at once when it grows.
func (c *Core) SetServerMaxconn(backend, server string, n int) error {
	if n < 0 {
		return refuse(ErrBadValue, "maxconn %d is negative", n)
	}
	err := c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		s.cfgMaxconn = n
		b.publishLocked(now)
		return nil
	})
	return err
}

// AddServer adds a server to a backend at runtime. As in HAProxy it
// starts in maintenance, with its health check (if any) disabled until
// `enable health`, and `set server ... state ready` puts it in service;
// with ready (the `enabled` keyword) it takes traffic at once.
func (c *Core) AddServer(backend string, sc config.Server, ready bool) error {
	return c.saved(c.addServer(backend, sc, ready))
}

func (c *Core) addServer(backend string, sc config.Server, ready bool) error {
	b, err := c.Backend(backend)
	if err != nil {
		return err
	}
	if b.algo.static() {
		return refuse(ErrStaticBackend, "backend %q", backend)
	}
	done := c.lockTracking(b)
	defer done(nil)
	if b.serverLocked(sc.Name) != nil {
		return refuse(ErrServerExists, "backend %q: server %q", backend, sc.Name)
	}
	if sc.ID == 0 { // the lowest free id, as HAProxy assigns it
		sc.ID = 1
		for slices.ContainsFunc(b.servers, func(s *Server) bool { return s.id == sc.ID }) {
			sc.ID++
		}
	} else if slices.ContainsFunc(b.servers, func(s *Server) bool { return s.id == sc.ID }) {
		return refuse(ErrServerExists, "backend %q: server id %d", backend, sc.ID)
	}
	now := time.Now()
	s, err := b.newServerLocked(sc, true, now)
	if err != nil {
		return err
	}
	if sc.Track != "" {
		if err := c.attachLocked(b, s); err != nil {
			return err
		}
	}
	if ready {
		s.admin, s.op, s.downSince = 0, OpRunning, time.Time{}
		s.check.health = s.check.rise
	}
	b.servers = append(b.servers, s)
	c.startLoopsLocked(s)
	b.publishLocked(now)
	return nil
}

// DelServer removes a server that is in maintenance and has no session
// and nothing queued; otherwise it refuses and says why.
func (c *Core) DelServer(backend, server string) error {
	return c.changeServer(backend, server, func(b *Backend, s *Server, now time.Time) error {
		if len(s.trackers) > 0 {
			return refuse(ErrTracked, "backend %q: server %q", backend, server)
		}
		if !s.admin.Maint() {
			return refuse(ErrNotInMaint, "backend %q: server %q", backend, server)
		}
		if n := s.cnt.Cur.Load(); n > 0 {
			return refuse(ErrHasSessions, "backend %q: server %q has %d sessions", backend, server, n)
		}
		s.deleted = true
		if !s.dynamic {
			b.deletedNames = append(b.deletedNames, s.name)
		}
		c.detachLocked(s)
		for _, stop := range []context.CancelFunc{s.check.stop, s.agent.stop} {
			if stop != nil {
				stop()
			}
		}
		b.servers = slices.DeleteFunc(b.servers, func(x *Server) bool { return x == s })
		b.publishLocked(now)
		return nil
	})
}

// ShutdownServerSessions cuts every session of a server and returns how
// many there were.
func (c *Core) ShutdownServerSessions(backend, server string) (int, error) {
	var srv *Server
	err := c.withServer(backend, server, func(_ *Backend, s *Server, _ time.Time) error {
		srv = s
		return nil
	})
	if err != nil {
		return 0, err
	}
	return srv.sessions.shutdown(termKilled), nil
}

// ShutdownSession cuts one session by id.
func (c *Core) ShutdownSession(id uint64) error {
	var target *session
	c.sessions.each(func(s *session) bool {
		if s.id == id {
			target = s
		}
		return target == nil
	})
	if target == nil {
		return &NotFoundError{Kind: "session", Name: strconv.FormatUint(id, 10)}
	}
	target.kill(termKilled)
	return nil
}

// SetFrontendState opens a frontend (`enable frontend`), pauses it
// (`disable frontend`: its sockets close, clients are refused) or stops
// it for good (`shutdown frontend`). Running sessions are not touched.
func (c *Core) SetFrontendState(name string, st FrontendState) error {
	return c.saved(c.setFrontendState(name, st))
}

func (c *Core) setFrontendState(name string, st FrontendState) error {
	f, err := c.Frontend(name)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == st {
		return nil
	}
	if f.state == FrontendStopped {
		return refuse(ErrFrontendStopped, "frontend %q", name)
	}
	switch st {
	case FrontendOpen:
		if c.stopping.Load() {
			return refuse(ErrStopping, "frontend %q", name)
		}
		if err := f.openLocked(); err != nil {
			return err
		}
		f.log.Load().Log(logging.Notice, "Resumed frontend "+name+".")
		c.diag.Notice("Resumed frontend " + name + ".")
	case FrontendPaused:
		f.closeAllLocked()
		f.log.Load().Log(logging.Notice, "Paused frontend "+name+".")
		c.diag.Notice("Paused frontend " + name + ".")
	case FrontendStopped:
		f.closeAllLocked()
		msg := fmt.Sprintf("Proxy %s stopped (cumulated conns: FE: %d, BE: %d).", name, f.cnt.Tot.Load(), f.backend.Load().cnt.Tot.Load())
		f.log.Load().Log(logging.Notice, msg)
		c.diag.Warning(msg)
	default:
		return refuse(ErrBadValue, "frontend state %d", int(st))
	}
	f.state = st
	return nil
}

// FrontendState reports whether a frontend is open, paused or stopped.
func (c *Core) FrontendState(name string) (FrontendState, error) {
	f, err := c.Frontend(name)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, nil
}

// SetFrontendMaxconn changes a frontend's connection limit (at least 1).
// A listener waiting on the old limit
// resumes at once.
func (c *Core) SetFrontendMaxconn(name string, n int) error {
	return c.saved(c.setFrontendMaxconn(name, n))
}

func (c *Core) setFrontendMaxconn(name string, n int) error {
	f, err := c.Frontend(name)
	if err != nil {
		return err
	}
	if n < 1 {
		return refuse(ErrBadValue, "frontend %q: maxconn %d: must be at least 1", name, n)
	}
	f.slots.setLimit(n)
	return nil
}

// SetGlobalMaxconn changes the process-wide connection limit (at least 1).
func (c *Core) SetGlobalMaxconn(n int) error { return c.saved(c.setGlobalMaxconn(n)) }

func (c *Core) setGlobalMaxconn(n int) error {
	if n < 1 {
		return refuse(ErrBadValue, "global maxconn %d: must be at least 1", n)
	}
	c.global.setLimit(n)
	return nil
}

// SetGlobalRateLimit caps new connections per second over the process;
// zero removes the cap.
func (c *Core) SetGlobalRateLimit(n int) error { return c.saved(c.setGlobalRateLimit(n)) }

func (c *Core) setGlobalRateLimit(n int) error {
	if n < 0 {
		return refuse(ErrBadValue, "rate limit %d is negative", n)
	}
	c.rateLimit.Store(int64(n))
	return nil
}

// SetGlobalSessionRateLimit caps new sessions per second over the
// process (`set rate-limit sessions global`); in TCP a session is a
// connection. Zero removes the cap.
func (c *Core) SetGlobalSessionRateLimit(n int) error { return c.saved(c.setGlobalSessionRateLimit(n)) }

func (c *Core) setGlobalSessionRateLimit(n int) error {
	if n < 0 {
		return refuse(ErrBadValue, "rate limit %d is negative", n)
	}
	c.sessRateLimit.Store(int64(n))
	return nil
}

// ClearCounters resets maxima and rates (`clear counters`) or, with all,
// every counter (`clear counters all`).
func (c *Core) ClearCounters(all bool) {
	for _, p := range c.top().proxies {
		if f := p.fe; f != nil {
			f.cnt.clear(all)
			f.mu.Lock()
			for _, l := range f.listeners {
				l.cnt.clear(all)
			}
			f.mu.Unlock()
		}
		if b := p.be; b != nil {
			b.cnt.clear(all)
			b.mu.Lock()
			for _, s := range b.servers {
				s.cnt.clear(all)
				if all {
					s.check.failed = 0
					s.chkDown = 0
				}
			}
			if all {
				b.chkDown = 0
			}
			b.mu.Unlock()
		}
	}
}

// ResolveBackend turns a backend designator (a name or `#<id>`) into its
// name.
func (c *Core) ResolveBackend(name string) (string, error) {
	if id, ok := hashID(name); ok {
		for _, p := range c.top().proxies {
			if p.be != nil && p.be.id == id {
				return p.be.name, nil
			}
		}
	} else if c.top().backends[name] != nil {
		return name, nil
	}
	return "", &NotFoundError{Kind: "backend", Name: name}
}

// ResolveServer turns an operator's `backend/server` designator into
// names: either part may be `#<id>`, as in HAProxy. It refuses a disabled
// backend with ErrProxyDisabled.
func (c *Core) ResolveServer(backend, server string) (string, string, error) {
	name, err := c.ResolveBackend(backend)
	if err != nil {
		return "", "", err
	}
	b := c.top().backends[name]
	if b.conf().Disabled {
		return "", "", refuse(ErrProxyDisabled, "backend %q", b.name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	id, byID := hashID(server)
	for _, s := range b.servers {
		if byID && s.id == id || !byID && s.name == server {
			return b.name, s.name, nil
		}
	}
	return "", "", &NotFoundError{Kind: "server", Backend: b.name, Name: server}
}

// ResolveFrontend turns a frontend designator (a name or `#<id>`) into
// its name.
func (c *Core) ResolveFrontend(name string) (string, error) {
	if id, ok := hashID(name); ok {
		for _, p := range c.top().proxies {
			if p.fe != nil && p.fe.id == id {
				return p.fe.name, nil
			}
		}
	} else if f := c.top().frontends[name]; f != nil {
		return name, nil
	}
	return "", &NotFoundError{Kind: "frontend", Name: name}
}

// hashID reads HAProxy's `#<number>` designators.
func hashID(s string) (int, bool) {
	if len(s) < 2 || s[0] != '#' {
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	return n, err == nil
}

// Backends returns the backend names in configuration order.
func (c *Core) Backends() []string {
	var names []string
	for _, b := range c.backendsInOrder() {
		names = append(names, b.name)
	}
	return names
}
