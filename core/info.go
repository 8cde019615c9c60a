package core

import (
	"cmp"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// Info is the process-wide view `show info` reports.
type Info struct {
	Pid           int
	Started       time.Time
	Uptime        time.Duration
	Nbthread      int
	Ulimit        int // file descriptor limit
	Maxconn       int // current global maxconn
	HardMaxconn   int // what the file descriptor limit allows
	CurrConns     int64
	CumConns      int64
	ConnRate      int64
	ConnRateMax   int64
	ConnRateLimit int64
	SessRateLimit int64
	SessRate      int64
	SessRateMax   int64
	Stopping      bool
	Listeners     int // frontend listeners open now
	DroppedLogs   uint64
	BytesOut      int64 // bytes sent to clients and servers
	// MaxPipes bounds the splice pipes; PipesUsed are held by sessions
	// streaming, PipesFree kept spare by the event loops.
	MaxPipes, PipesUsed, PipesFree int64
}

// Info returns the process-wide counters and limits.
func (c *Core) Info() Info {
	now := time.Now()
	in := Info{
		Pid:           c.opts.PID,
		Started:       c.started,
		Uptime:        now.Sub(c.started),
		Nbthread:      c.relay.Loops(),
		Maxconn:       int(c.global.limit.Load()),
		HardMaxconn:   c.hardMaxconn(),
		CurrConns:     c.actconn.Load(),
		ConnRate:      c.connRate.read(now),
		ConnRateMax:   c.connRate.Max(),
		ConnRateLimit: c.rateLimit.Load(),
		SessRateLimit: c.sessRateLimit.Load(),
		Stopping:      c.stopping.Load(),
	}
	in.MaxPipes, in.PipesUsed, in.PipesFree = c.relay.Pipes()
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		in.Ulimit = int(rl.Cur)
	}
	for _, p := range c.top().proxies {
		if f := p.fe; f != nil {
			in.CumConns += f.cnt.ConnTot.Load()
			in.SessRate += f.cnt.Rate.read(now)
			in.SessRateMax = max(in.SessRateMax, f.cnt.Rate.Max())
			in.BytesOut += f.cnt.Out.Load()
			in.Listeners += len(f.Addrs())
		}
		if b := p.be; b != nil {
			in.BytesOut += b.cnt.In.Load()
		}
	}
	for _, l := range c.loggers {
		in.DroppedLogs += l.Dropped()
	}
	return in
}

// hardMaxconn is the ceiling of `set maxconn global`: the configured
// global maxconn, else what the descriptors allow (HAProxy's rule).
func (c *Core) hardMaxconn() int {
	if c.top().cfg.Global.MaxConn > 0 {
		return c.top().cfg.Global.MaxConn
	}
	return fdMaxconn()
}

// fdMaxconn is the highest global maxconn the descriptor limit allows.
func fdMaxconn() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 300 {
		return 0
	}
	return int(min((rl.Cur-100)/2, 1<<20))
}

// SessionInfo describes one live session for `show sess`.
type SessionInfo struct {
	ID       uint64
	Client   netip.AddrPort
	Frontend string
	Backend  string
	Server   string // empty until one is assigned
	Age      time.Duration
	BytesIn  int64
	BytesOut int64
}

// Sessions lists the live sessions, oldest first.
func (c *Core) Sessions() []SessionInfo {
	now := time.Now()
	var list []SessionInfo
	c.sessions.each(func(s *session) bool {
		si := SessionInfo{
			ID: s.id, Client: s.peer, Frontend: s.fe.name, Backend: s.be.name,
			Age: now.Sub(s.accepted), BytesIn: s.in.Load(), BytesOut: s.out.Load(),
		}
		if srv := s.srv.Load(); srv != nil {
			si.Server = srv.name
		}
		list = append(list, si)
		return true
	})
	slices.SortFunc(list, func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	return list
}

// ServerUsage reports what still holds a server: its sessions, the
// connections queued that it may still be given, and its admin causes.
// `wait srv-removable|srv-unused` polls it. Queued connections wait in
// their backend's queue, for whichever server frees a slot first: they
// count for a server that takes new connections, never for one drained,
// in maintenance or down, which none of them can reach.
func (c *Core) ServerUsage(backend, server string) (sessions, queued int64, admin Admin, err error) {
	err = c.withServer(backend, server, func(b *Backend, s *Server, _ time.Time) error {
		sessions, admin = s.cnt.Cur.Load(), s.admin
		if s.usable.Load() {
			queued = b.queue.len()
		}
		return nil
	})
	return sessions, queued, admin, err
}
