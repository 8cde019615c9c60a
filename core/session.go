package core

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"pivot/core/logging"
	"pivot/core/relay"
)

// Causes of a session being cut from outside, recorded as the first
// character of its termination state.
const (
	termKilled           byte = 'K' // an operator shut it
	termDown             byte = 'D' // its server was marked down (on-marked-down shutdown-sessions)
	termUpShutdownBackup byte = 'U' // an active server came up (on-marked-up shutdown-backup-sessions)
)

// session is one client connection and, once connected, its server
// connection.
type session struct {
	id       uint64
	fe       *Frontend
	l        *listener // the bind it came through, whose slot it holds
	be       *Backend
	peer     netip.AddrPort
	accepted time.Time
	ctx      context.Context
	cancel   context.CancelFunc

	srv atomic.Pointer[Server]
	in  atomic.Int64 // bytes client→server
	out atomic.Int64 // bytes server→client
	// killedBy is the termination cause set by kill; zero while alive.
	killedBy atomic.Uint32
	ended    atomic.Bool // end has run

	mu sync.Mutex // guards client and relayed
	// client is the client's socket while the session's goroutine owns
	// it (-1 once given to the relay engine or closed).
	client int
	// relayed is the session's relay once both sockets are in it.
	relayed *relay.Session
}

// kill cuts the session from outside: it records why, cancels what is
// waited for (a queue slot, a connect) and cuts the relay, whose sockets
// then close. The client sees an orderly close.
func (s *session) kill(cause byte) {
	if !s.killedBy.CompareAndSwap(0, uint32(cause)) {
		return
	}
	s.cancel()
	s.mu.Lock()
	r := s.relayed
	s.mu.Unlock()
	if r != nil {
		r.Kill()
	}
}

// localPort is the port the client connected to, where servers without
// a port send their traffic.
func (s *session) localPort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client < 0 {
		return 0
	}
	return relay.LocalPort(s.client)
}

// sessionSet is the live sessions of a server (or of the whole
// process), so that they can be listed and cut. It is a sync.Map, whose
// writers do not share one lock: adding and removing sessions must not
// serialize the accept path.
type sessionSet struct {
	m sync.Map // *session → struct{}
}

func (ss *sessionSet) add(s *session) { ss.m.Store(s, struct{}{}) }

func (ss *sessionSet) remove(s *session) { ss.m.Delete(s) }

// each calls fn for every session in the set, until fn returns false.
func (ss *sessionSet) each(fn func(*session) bool) {
	ss.m.Range(func(k, _ any) bool { return fn(k.(*session)) })
}

// shutdown kills every session in the set and returns how many.
func (ss *sessionSet) shutdown(cause byte) int {
	n := 0
	ss.each(func(s *session) bool {
		s.kill(cause)
		n++
		return true
	})
	return n
}

// run carries a session from assignment to the relay: pick a server,
// connect with retries and redispatch, then give both sockets to the
// relay engine, whose end of the session calls end. When no server
// could be reached, run ends the session itself.
func (s *session) run() {
	rec := &logging.SessionRecord{
		Client:   s.peer,
		Accept:   s.accepted,
		Frontend: s.fe.name,
		Backend:  s.be.name,
		Tw:       -1,
		Tc:       -1,
	}
	s.be.cnt.startSession(s.accepted)
	srv, conn, term := s.connect(rec)
	if conn != nil {
		if s.startRelay(conn, srv, rec) {
			return
		}
		conn.Abort() // killed meanwhile
	}
	s.end(srv, term, rec)
}

// startRelay hands the client's socket and the server's connection to
// the relay engine; false when the session was killed first.
func (s *session) startRelay(conn *relay.Connecting, srv *Server, rec *logging.SessionRecord) bool {
	c := s.fe.core
	be := s.be
	cfg := be.conf()
	o := relay.Options{
		ClientIdle: c.clientTimeout(s.fe.conf()), ServerIdle: c.serverTimeout(cfg),
		ClientFin: s.fe.conf().Timeouts.ClientFin, ServerFin: cfg.Timeouts.ServerFin,
		In:  []*atomic.Int64{&s.in, &s.fe.cnt.In, &be.cnt.In, &srv.cnt.In},
		Out: []*atomic.Int64{&s.out, &s.fe.cnt.Out, &be.cnt.Out, &srv.cnt.Out},
	}
	if t := c.tunnelTimeout(cfg); t > 0 {
		o.ClientIdle, o.ServerIdle = t, t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killedBy.Load() != 0 {
		return false
	}
	s.relayed = conn.Relay(s.client, o, func(r relay.Result) { s.relayEnded(r, srv, rec) })
	s.client = -1
	return true
}

// relayEnded counts how the relay ended and ends the session. It runs on
// a relay loop's thread, which must not wait: a session whose frontend
// logs (a write that may block) ends on a goroutine of its own.
func (s *session) relayEnded(r relay.Result, srv *Server, rec *logging.SessionRecord) {
	be := s.be
	term := ""
	switch {
	case r.Killed || s.killedBy.Load() != 0:
		// end words it from the kill's cause
	case r.Term == "":
		term = "--"
	case r.Side == 'C':
		term = r.Term
		be.cnt.CliAbrt.Add(1)
		srv.cnt.CliAbrt.Add(1)
	default:
		term = r.Term
		be.cnt.SrvAbrt.Add(1)
		srv.cnt.SrvAbrt.Add(1)
		be.cnt.Eresp.Add(1)
		srv.cnt.Eresp.Add(1)
	}
	if s.fe.conf().TCPLog {
		s.fe.core.sessWG.Add(1)
		go func() {
			defer s.fe.core.sessWG.Done()
			s.end(srv, term, rec)
		}()
		return
	}
	s.end(srv, term, rec)
}

// end closes what the session still holds, gives back its server and
// limit slots, counts and logs it. It runs once.
func (s *session) end(srv *Server, term string, rec *logging.SessionRecord) {
	if !s.ended.CompareAndSwap(false, true) {
		return
	}
	c := s.fe.core
	be := s.be
	s.mu.Lock()
	if s.client >= 0 {
		relay.Close(s.client)
		s.client = -1
	}
	s.mu.Unlock()
	if srv != nil {
		srv.sessions.remove(s)
		srv.release()
	}
	be.cnt.Cur.Add(-1)
	if k := s.killedBy.Load(); k != 0 {
		term = string([]byte{byte(k), '-'})
	}

	now := time.Now()
	tt := now.Sub(s.accepted)
	be.cnt.TTime.add(tt.Milliseconds())
	raiseMax(&be.cnt.TTimeMax, tt.Milliseconds())
	if srv != nil {
		srv.cnt.TTime.add(tt.Milliseconds())
		raiseMax(&srv.cnt.TTimeMax, tt.Milliseconds())
	}
	rec.Tt = tt
	rec.Termination = term
	rec.BytesRead = s.out.Load()
	rec.BytesWritten = s.in.Load()
	rec.ActConn = int(c.actconn.Load())
	rec.FeConn = int(s.fe.cnt.Cur.Load())
	rec.BeConn = int(be.cnt.Cur.Load())
	if srv != nil {
		rec.SrvConn = int(srv.cnt.Cur.Load())
	}
	rec.BackendQueue = int(be.queue.len())
	if s.fe.conf().TCPLog && !(s.fe.conf().DontLogNull && rec.IsNull()) {
		s.fe.log.Load().Log(logging.Info, rec.TCPLogLine())
	}

	s.cancel()
	c.sessions.remove(s)
	c.actconn.Add(-1)
	s.l.cnt.Cur.Add(-1)
	s.fe.cnt.Cur.Add(-1)
	s.l.slots.release()
	s.fe.slots.release()
	c.global.release()
	c.sessWG.Done()
}

// connect assigns a server and connects to it, retrying `retries` times
// and redispatching to another server as `option redispatch` says. It
// returns the server holding a slot (nil if none was assigned), the
// connection (nil on failure) and, on failure, the termination state.
func (s *session) connect(rec *logging.SessionRecord) (*Server, *relay.Connecting, string) {
	c := s.fe.core
	be := s.be
	cfg := be.conf()
	retries := cfg.Retries
	var avoid *Server
	var queuedTotal time.Duration
	for attempt := 0; ; attempt++ {
		srv, queued, err := be.assign(s.ctx, s.peer.Addr(), avoid)
		queuedTotal += queued
		if err != nil {
			be.cnt.Econ.Add(1)
			switch {
			case errors.Is(err, errQueueTimeout), errors.Is(err, errQueueFull):
				rec.Tw = queuedTotal
				return nil, nil, "sQ"
			case s.killedBy.Load() != 0:
				return nil, nil, "K-"
			}
			return nil, nil, "SC"
		}
		rec.Tw = queuedTotal
		rec.Server = srv.name
		s.srv.Store(srv)
		now := time.Now()
		srv.cnt.Tot.Add(1)
		srv.cnt.Rate.add(now)
		raiseMax(&srv.cnt.Max, srv.cnt.Cur.Load())
		raiseMax(&srv.connsMax, srv.cnt.Cur.Load())
		srv.cnt.LBTot.Add(1)
		be.cnt.LBTot.Add(1)
		srv.cnt.LastSess.Store(now.UnixNano())
		be.cnt.LastSess.Store(now.UnixNano())
		srv.sessions.add(s)
		be.cnt.QTime.add(queued.Milliseconds())
		raiseMax(&be.cnt.QTimeMax, queued.Milliseconds())

		for {
			srv.cnt.Connect.Add(1)
			be.cnt.Connect.Add(1)
			start := time.Now()
			conn, err := s.dial(srv)
			took := time.Since(start)
			if err == nil {
				rec.Tc = took
				be.cnt.CTime.add(took.Milliseconds())
				srv.cnt.CTime.add(took.Milliseconds())
				raiseMax(&be.cnt.CTimeMax, took.Milliseconds())
				raiseMax(&srv.cnt.CTimeMax, took.Milliseconds())
				return srv, conn, ""
			}
			if s.killedBy.Load() != 0 {
				return srv, nil, "K-"
			}
			timedOut := isTimeout(err)
			if rec.Retries >= retries {
				srv.cnt.Econ.Add(1)
				be.cnt.Econ.Add(1)
				if timedOut {
					return srv, nil, "sC"
				}
				return srv, nil, "SC"
			}
			rec.Retries++
			srv.cnt.Retries.Add(1)
			be.cnt.Retries.Add(1)
			// A server taken out of rotation meanwhile (maint, drain,
			// down) gets no retry: redispatch at once if allowed, as
			// HAProxy does for a server no longer running, else give up.
			gone := !srv.usable.Load()
			if gone && !cfg.Redispatch {
				srv.cnt.Econ.Add(1)
				be.cnt.Econ.Add(1)
				return srv, nil, "SC"
			}
			if cfg.Redispatch && (gone || redispatchNow(rec.Retries, retries, cfg.RedispatchInterval)) {
				srv.cnt.Redisp.Add(1)
				be.cnt.Redisp.Add(1)
				rec.Redispatched = true
				srv.cnt.Redisp.Add(1)
				be.cnt.Redisp.Add(1)
				rec.Redispatched = true
				srv.sessions.remove(s)
				srv.release()
				avoid = srv
				break
			}
			// HAProxy's turn-around: wait a second (or timeout connect,
			// if shorter) before trying the same server again, unless the
			// attempt already took that long.
			turn := time.Second
			if ct := c.connectTimeout(cfg); ct > 0 {
				turn = min(turn, ct)
			}
			if !timedOut && !c.sleep(s.ctx, turn) {
				return srv, nil, "K-"
			}
			if !srv.usable.Load() { // changed during the turn-around: decide again
				if !cfg.Redispatch {
					srv.cnt.Econ.Add(1)
					be.cnt.Econ.Add(1)
					return srv, nil, "SC"
				}
				srv.sessions.remove(s)
				srv.release()
				avoid = srv
				break
			}
		}
	}
}

// redispatchNow reports whether retry number n (1-based) of max goes to
// another server: every interval-th retry when interval > 0, the
// -interval-th before last when negative, the last one when zero.
func redispatchNow(n, max, interval int) bool {
	switch {
	case interval > 0:
		return n%interval == 0
	case interval < 0:
		return n == max+interval+1
	}
	return n == max
}

// dial connects to srv within `timeout connect`, on a socket the relay
// engine watches.
func (s *session) dial(srv *Server) (*relay.Connecting, error) {
	addr := srv.addr.Load()
	if !addr.ip.IsValid() {
		return nil, &net.AddrError{Err: "unresolved address", Addr: addr.host}
	}
	to := addr.ap
	if addr.port == 0 {
		to = netip.AddrPortFrom(addr.ip, uint16(s.localPort()))
	}
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(to), Err: err}
	}
	conn, err := s.fe.core.relay.Dial(to)
	if err != nil {
		return nil, opErr(err)
	}
	var timeout <-chan time.Time
	if d := s.fe.core.connectTimeout(s.be.conf()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case err = <-conn.Done():
		if err == nil {
			return conn, nil
		}
		err = os.NewSyscallError("connect", err)
	case <-timeout:
		err = os.ErrDeadlineExceeded
	case <-s.ctx.Done():
		err = s.ctx.Err()
	}
	conn.Abort()
	return nil, opErr(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
