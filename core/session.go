package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
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
	rec      logging.SessionRecord // its log record, filled as it goes
	// counters is what the relay counts the bytes into (relayOptions).
	counters [8]*atomic.Int64

	srv atomic.Pointer[Server]
	in  atomic.Int64 // bytes client→server
	out atomic.Int64 // bytes server→client
	// killedBy is the termination cause set by kill; zero while alive.
	killedBy atomic.Uint32
	ended    atomic.Bool // end has run

	mu sync.Mutex // guards client, relayed, ctx and cancel
	// client is the client's socket until the relay takes it over with
	// the connect (-1 then, or once closed).
	client int
	// relayed is the session's relay (connecting, or relaying).
	relayed *relay.Session
	// ctx is what the session's goroutine waits with (a queue slot, a
	// turn-around), made the first time it waits (waitCtx): most
	// sessions never do, and a context was two allocations per
	// connection. kill cancels it.
	ctx    context.Context
	cancel context.CancelFunc
}

// waitCtx is the session's context for waiting, cancelled once it is
// killed. Not a child of the core's context: registering with it would
// take its lock for every session, from every loop at once; Stop cuts
// each session itself.
func (s *session) waitCtx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		if s.killedBy.Load() != 0 {
			s.cancel()
		}
	}
	return s.ctx
}

// kill cuts the session from outside: it records why, cancels what is
// waited for (a queue slot, a turn-around) and cuts the relay (a connect
// in progress fails, a relay closes both sockets). The client sees an
// orderly close.
func (s *session) kill(cause byte) {
	if !s.killedBy.CompareAndSwap(0, uint32(cause)) {
		return
	}
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
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
// process), so that they can be listed and cut. Its sessions are spread
// over shards by id, each with its own lock, so that adding and removing
// sessions does not serialize the accept path on one lock. (A sync.Map
// did the same with two allocations per session added.)
type sessionSet struct {
	shards [sessionShards]sessionShard
}

const sessionShards = 16

type sessionShard struct {
	mu sync.Mutex
	m  map[*session]struct{}
	_  [48]byte // 64 bytes each: loops on neighbouring shards seldom share a cache line
}

func (ss *sessionSet) shard(s *session) *sessionShard {
	return &ss.shards[s.id%sessionShards]
}

func (ss *sessionSet) add(s *session) {
	sh := ss.shard(s)
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[*session]struct{}{}
	}
	sh.m[s] = struct{}{}
	sh.mu.Unlock()
}

func (ss *sessionSet) remove(s *session) {
	sh := ss.shard(s)
	sh.mu.Lock()
	delete(sh.m, s)
	sh.mu.Unlock()
}

// each calls fn for every session in the set, until fn returns false; fn
// runs with no lock held, and may not see sessions added meanwhile.
func (ss *sessionSet) each(fn func(*session) bool) {
	var batch []*session
	for i := range ss.shards {
		sh := &ss.shards[i]
		sh.mu.Lock()
		batch = batch[:0]
		for s := range sh.m {
			batch = append(batch, s)
		}
		sh.mu.Unlock()
		for _, s := range batch {
			if !fn(s) {
				return
			}
		}
	}
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

// record starts the session's log record.
func (s *session) record() {
	s.rec = logging.SessionRecord{
		Client:   s.peer,
		Accept:   s.accepted,
		Frontend: s.fe.name,
		Backend:  s.be.name,
		Tw:       -1,
		Tc:       -1,
	}
}

// start begins the session where it was accepted (relay loop on, or the
// listener's goroutine: nil). When a server is free at once it is dialled
// from here and the relay takes over when the connect succeeds, so that
// a session costs no goroutine of its own; waiting in the queue, a
// failed connect (retries, redispatch) and everything that may block go
// on in a goroutine (goRun).
func (s *session) start(on *relay.Loop) {
	s.record()
	s.be.cnt.startSession(s.accepted)
	srv := s.be.tryAssign(s.peer.Addr())
	if srv == nil {
		s.goRun(nil, nil)
		return
	}
	s.rec.Tw = 0
	s.assigned(srv, 0)
	if err := s.dial(on, srv, nil); err != nil {
		s.goRun(srv, err)
	}
}

// goRun continues the session in a goroutine of its own; srv and err are
// a first attempt that failed.
func (s *session) goRun(srv *Server, err error) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.fe.cnt.Eint.Add(1)
				s.fe.core.diag.Alert(fmt.Sprintf("session %d: internal error: %v\n%s", s.id, r, debug.Stack()))
				s.end(s.srv.Load(), "ID")
			}
		}()
		srv, term, ok := s.connect(srv, err)
		if !ok {
			s.end(srv, term)
		}
	}()
}

// relayOptions are the session's timeouts and counters for the relay.
func (s *session) relayOptions(srv *Server) relay.Options {
	c := s.fe.core
	be := s.be
	cfg := be.conf()
	// Only one relay at a time uses the counters: a retry's follows a
	// failed connect.
	s.counters = [8]*atomic.Int64{&s.in, &s.fe.cnt.In, &be.cnt.In, &srv.cnt.In, &s.out, &s.fe.cnt.Out, &be.cnt.Out, &srv.cnt.Out}
	o := relay.Options{
		ClientIdle: c.clientTimeout(s.fe.conf()), ServerIdle: c.serverTimeout(cfg),
		ClientFin: s.fe.conf().Timeouts.ClientFin, ServerFin: cfg.Timeouts.ServerFin,
		In: s.counters[:4:4], Out: s.counters[4:],
	}
	if t := c.tunnelTimeout(cfg); t > 0 {
		o.ClientIdle, o.ServerIdle = t, t
	}
	return o
}

// relayEnded counts how the relay ended and ends the session. It runs on
// a relay loop's thread, which must not wait: a session whose frontend
// logs (a write that may block) ends on a goroutine of its own.
func (s *session) relayEnded(r relay.Result, srv *Server) {
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
			s.end(srv, term)
		}()
		return
	}
	s.end(srv, term)
}

// end closes what the session still holds, gives back its server and
// limit slots, counts and logs it. It runs once.
func (s *session) end(srv *Server, term string) {
	if !s.ended.CompareAndSwap(false, true) {
		return
	}
	c := s.fe.core
	be := s.be
	rec := &s.rec
	s.mu.Lock()
	if s.client >= 0 {
		relay.Close(s.client)
		s.client = -1
	}
	if s.cancel != nil {
		s.cancel()
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
// and redispatching to another server as `option redispatch` says;
// srv and err, when set, are a first attempt that failed. It returns the
// server holding a slot (nil if none was assigned) and either ok (the
// relay runs: it will end the session) or the termination state.
func (s *session) connect(srv *Server, err error) (_ *Server, term string, ok bool) {
	c := s.fe.core
	be := s.be
	rec := &s.rec
	cfg := be.conf()
	retries := cfg.Retries
	// avoid is the server a redispatch left, which the next assignment
	// counts: a redispatch if it lands elsewhere (wredis on avoid and
	// the backend), else a retry (wretr), as HAProxy counts them.
	var avoid *Server
	var queuedTotal time.Duration
	ctx := s.waitCtx()
	for {
		if srv == nil {
			var queued time.Duration
			var aerr error
			srv, queued, aerr = be.assign(ctx, s.peer.Addr(), avoid)
			queuedTotal += queued
			if aerr != nil {
				be.cnt.Econ.Add(1)
				switch {
				case errors.Is(aerr, errQueueTimeout), errors.Is(aerr, errQueueFull):
					rec.Tw = queuedTotal
					return nil, "sQ", false
				case s.killedBy.Load() != 0:
					return nil, "K-", false
				}
				return nil, "SC", false
			}
			rec.Tw = queuedTotal
			switch {
			case avoid == nil:
			case srv != avoid:
				avoid.cnt.Redisp.Add(1)
				be.cnt.Redisp.Add(1)
				rec.Redispatched = true
			default:
				srv.cnt.Retries.Add(1)
				be.cnt.Retries.Add(1)
			}
			s.assigned(srv, queued)
			if err = s.dialWait(srv); err == nil {
				return srv, "", true
			}
		}
		// The attempt on srv failed with err.
		if s.killedBy.Load() != 0 {
			return srv, "K-", false
		}
		timedOut := isTimeout(err)
		if rec.Retries >= retries {
			srv.cnt.Econ.Add(1)
			be.cnt.Econ.Add(1)
			if timedOut {
				return srv, "sC", false
			}
			return srv, "SC", false
		}
		rec.Retries++
		// A server taken out of rotation meanwhile (maint, drain, down)
		// gets no retry: redispatch at once if allowed, as HAProxy does
		// for a server no longer running, else give up.
		gone := !srv.usable.Load()
		if cfg.Redispatch && (gone || redispatchNow(rec.Retries, retries, cfg.RedispatchInterval)) {
			srv.sessions.remove(s)
			srv.release()
			avoid, srv = srv, nil // counted once assigned
			continue
		}
		srv.cnt.Retries.Add(1)
		be.cnt.Retries.Add(1)
		if gone {
			srv.cnt.Econ.Add(1)
			be.cnt.Econ.Add(1)
			return srv, "SC", false
		}
		// HAProxy's turn-around: wait a second (or timeout connect, if
		// shorter) before trying the same server again, unless the
		// attempt already took that long.
		turn := time.Second
		if ct := c.connectTimeout(cfg); ct > 0 {
			turn = min(turn, ct)
		}
		if !timedOut && !c.sleep(ctx, turn) {
			return srv, "K-", false
		}
		if !srv.usable.Load() { // changed during the turn-around: decide again
			if !cfg.Redispatch {
				srv.cnt.Econ.Add(1)
				be.cnt.Econ.Add(1)
				return srv, "SC", false
			}
			srv.sessions.remove(s)
			srv.release()
			avoid, srv = srv, nil
			continue
		}
		if err = s.dialWait(srv); err == nil {
			return srv, "", true
		}
	}
}

// assigned counts srv's new session, which waited queued for it.
func (s *session) assigned(srv *Server, queued time.Duration) {
	be := s.be
	s.rec.Server = srv.name
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

// dial starts connecting to srv within `timeout connect`, on relay loop
// on when called on its thread (else nil); the relay takes over once
// connected. wait, if not nil, receives the outcome; else a failure
// continues the session in a goroutine (goRun). An error returned now
// means no attempt was started.
func (s *session) dial(on *relay.Loop, srv *Server, wait chan error) error {
	c := s.fe.core
	be := s.be
	addr := srv.addr.Load()
	srv.cnt.Connect.Add(1)
	be.cnt.Connect.Add(1)
	if !addr.ip.IsValid() {
		return &net.AddrError{Err: "unresolved address", Addr: addr.host}
	}
	a := &attempt{s: s, srv: srv, to: addr.ap, wait: wait}
	if addr.port == 0 {
		a.to = netip.AddrPortFrom(addr.ip, uint16(s.localPort()))
	}
	o := s.relayOptions(srv)
	a.start = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killedBy.Load() != 0 {
		return a.opErr(relay.ErrKilled)
	}
	r, err := c.relay.Dial(on, a.to, c.connectTimeout(be.conf()), s.client, o, a)
	if err != nil {
		return a.opErr(err)
	}
	s.relayed = r
	return nil
}

// dialWait is dial for the session's goroutine: it waits for the
// outcome.
func (s *session) dialWait(srv *Server) error {
	wait := make(chan error, 1)
	if err := s.dial(nil, srv, wait); err != nil {
		return err
	}
	return <-wait
}

// attempt is one connect of a session to a server and the relay that
// follows it: what the relay tells, on its loop's thread.
type attempt struct {
	s     *session
	srv   *Server
	to    netip.AddrPort
	start time.Time
	wait  chan error // see dial
}

// Connected counts a connect that succeeded (the client's socket is the
// relay's from now on), or passes the failure on.
func (a *attempt) Connected(err error) {
	s := a.s
	if err != nil {
		err = a.opErr(err)
		if a.wait == nil {
			s.goRun(a.srv, err)
			return
		}
		a.wait <- err
		return
	}
	took := time.Since(a.start)
	be, srv := s.be, a.srv
	s.rec.Tc = took
	be.cnt.CTime.add(took.Milliseconds())
	srv.cnt.CTime.add(took.Milliseconds())
	raiseMax(&be.cnt.CTimeMax, took.Milliseconds())
	raiseMax(&srv.cnt.CTimeMax, took.Milliseconds())
	s.mu.Lock()
	s.client = -1
	s.mu.Unlock()
	if a.wait != nil {
		a.wait <- nil
	}
}

// Ended ends the session with its relay.
func (a *attempt) Ended(r relay.Result) { a.s.relayEnded(r, a.srv) }

// opErr words a failed connect as net.Dial would.
func (a *attempt) opErr(err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(a.to), Err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
