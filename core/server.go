package core

import (
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"pivot/core/config"
)

// Server is one backend server: where connections go, what state an
// operator and the health checks put it in, and its counters.
//
// The data path reads only the atomics (addr, usable, maxconn, cnt) and the
// backend's published snapshot. Everything else is guarded by the owning
// backend's mu, and every change to it goes through Backend.commitLocked so
// that it is timestamped, logged and published in one place.
type Server struct {
	b      *Backend
	name   string
	id     int
	backup bool
	// dynamic is true for servers added at runtime (`add server`).
	dynamic bool
	// initial is the configuration the server was created with; its weight
	// is the "initial weight" that percentages refer to.
	initial config.Server

	addr atomic.Pointer[serverAddr]
	// usable is true while the server may take new load-balanced
	// connections. It is stored, with b.mu held, before the snapshot that
	// agrees with it is published, and a pick re-reads it after reserving a
	// slot: once a state change has returned, no new connection lands on a
	// server it made unusable.
	usable atomic.Bool
	// maxconn is the effective connection limit (slowstart throttles it);
	// zero means unlimited.
	maxconn atomic.Int64
	// connsMax is the most server connections ever open at once:
	// HAProxy's estimate of the connections a server needs
	// (need_conn_est), which `clear counters` leaves alone.
	connsMax atomic.Int64
	cnt      Counters
	sessions sessionSet

	// Guarded by b.mu.
	admin      Admin
	op         Op
	uweight    int // user weight: configured, or set by the operator
	cfgMaxconn int // maxconn as configured or set; 0 = unlimited
	maxqueue   int
	lastChange time.Time
	downSince  time.Time // when it last went down; zero while up
	downtime   time.Duration
	chkDown    int64 // up → down transitions
	warmupEnd  time.Time
	check      checkState
	agent      checkState // agent-check: the same bookkeeping, its own loop
	deleted    bool
	// track is the server this one follows (`track`), trackers those
	// following it, in the order they were attached. Both change only
	// with the core's trackMu held as well.
	track    *Server
	trackers []*Server
	// via is what a tracking server mirrors of the end of its chain:
	// check counters for the status column (its op is kept in op).
	via     checkView
	trackOp Op // the tracked server's operational state, mirrored
}

// persisted is what the state file keeps of a server's runtime state;
// comparing two tells whether a change needs writing.
type persisted struct {
	op              Op
	admin           Admin
	weight, maxconn int
}

func (s *Server) persistedLocked() persisted {
	return persisted{s.op, s.admin, s.uweight, s.cfgMaxconn}
}

// checkView is the part of a check a status is worded from.
type checkView struct {
	health, rise, fall int
	enabled            bool
	// agent: an agent check is enabled; agentHealth is its counter.
	agent       bool
	agentHealth int
}

// viewLocked is the check a status is worded from: a tracking server's
// mirror, or the server's own check.
func (s *Server) viewLocked() checkView {
	if s.track != nil {
		return s.via
	}
	return checkView{s.check.health, s.check.rise, s.check.fall, s.check.enabled, s.agent.enabled, s.agent.health}
}

// path is "backend/server", as HAProxy names a tracked server.
func (s *Server) path() string { return s.b.name + "/" + s.name }

// serverAddr is where a server's connections go. It is replaced whole,
// never modified, so a session that loaded it keeps a consistent value.
type serverAddr struct {
	host string         // as configured or set: an IP or a host name
	ip   netip.Addr     // resolved; invalid when resolution failed
	port int            // 0: the port the client connected to
	ap   netip.AddrPort // ip and port, for show stat
}

func newServerAddr(host string, ip netip.Addr, port int) *serverAddr {
	a := &serverAddr{host: host, ip: ip, port: port}
	if ip.IsValid() {
		a.ap = netip.AddrPortFrom(ip, uint16(port))
	}
	return a
}

// String is addr as `show stat` prints it.
func (a *serverAddr) String() string {
	if !a.ip.IsValid() {
		return a.host + ":" + strconv.Itoa(a.port)
	}
	return a.ap.String()
}

// Name is the server's name, unique in its backend.
func (s *Server) Name() string { return s.name }

// ID is the server's numeric id (`id` keyword or assigned).
func (s *Server) ID() int { return s.id }

// Backend is the backend the server belongs to.
func (s *Server) Backend() *Backend { return s.b }

// tryAcquire reserves a connection slot, refusing when the server is at
// its maxconn. It is the only way a session starts on a server.
func (s *Server) tryAcquire() bool {
	limit := s.maxconn.Load()
	for {
		cur := s.cnt.Cur.Load()
		if limit > 0 && cur >= limit {
			return false
		}
		if s.cnt.Cur.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// release gives a slot back and lets a queued connection have it.
func (s *Server) release() {
	s.cnt.Cur.Add(-1)
	s.b.dequeue()
}

// eweightLocked is the effective weight: the user weight scaled by
// slowstart while the server warms up.
func (s *Server) eweightLocked(now time.Time) int {
	w := s.uweight
	if p := s.throttleLocked(now); p < 100 && w > 0 {
		w = max(1, w*p/100)
	}
	return w
}

// lbWeightLocked is the effective weight in HAProxy's units (the user
// weight times weightScale), as roundrobin's rotation counts it: slowstart
// ramps it in finer steps than the user weight.
func (s *Server) lbWeightLocked(now time.Time) int {
	w := s.uweight * weightScale
	if p := s.throttleLocked(now); p < 100 && w > 0 {
		w = max(1, w*p/100)
	}
	return w
}

// throttleLocked is the slowstart percentage: 100 outside a warm-up.
func (s *Server) throttleLocked(now time.Time) int {
	if s.op != OpStarting || s.initial.SlowStart <= 0 || !now.Before(s.warmupEnd) {
		return 100
	}
	left := s.warmupEnd.Sub(now)
	p := int(100 - 100*left/s.initial.SlowStart)
	return max(p, 1)
}

// usableLocked reports whether the server may take new load-balanced
// connections: ready, up and with a weight.
func (s *Server) usableLocked(now time.Time) bool {
	return !s.deleted && !s.admin.Maint() && !s.admin.Drain() && s.op.Up() && s.eweightLocked(now) > 0
}

// effectiveMaxconnLocked applies slowstart to maxconn.
func (s *Server) effectiveMaxconnLocked(now time.Time) int64 {
	m := s.cfgMaxconn
	if m > 0 {
		if p := s.throttleLocked(now); p < 100 {
			m = max(1, m*p/100)
		}
	}
	return int64(m)
}
