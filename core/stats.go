package core

import (
	"slices"
	"time"
)

// RowType is the kind of a stats row, numbered as HAProxy's `type` column.
type RowType int

// Row types, in HAProxy's numbering.
const (
	RowFrontend RowType = 0
	RowBackend  RowType = 1
	RowServer   RowType = 2
	RowListener RowType = 3
)

// StatRow is one frontend, listener, server or backend as `show stat`
// reports it: every value the HAProxy 2.6 CSV needs in TCP mode. Which
// columns are empty for which row follows from Type and the Has* flags;
// the admin socket turns rows into CSV, typed or JSON output.
type StatRow struct {
	Type    RowType
	Proxy   string // pxname
	Name    string // svname: FRONTEND, BACKEND, the server or listener name
	ProxyID int    // iid
	ID      int    // sid: server or listener id, 0 on FRONTEND/BACKEND
	Mode    string // always "tcp"
	Status  string

	QCur, QMax       int64
	SCur, SMax, STot int64
	// SLim is maxconn (frontend, listener, server) or fullconn (backend);
	// zero on a server or listener means unset.
	SLim      int64
	BIn, BOut int64
	EReq      int64
	ECon      int64
	EResp     int64
	WRetr     int64
	WRedis    int64
	Eint      int64
	Connect   int64
	LBTot     int64
	CliAbrt   int64
	SrvAbrt   int64

	// Server: effective and user weights; backend: sums over servers in
	// use. Act/Bck: server's role flag, or backend's usable counts.
	Weight, UWeight int64
	Act, Bck        int64

	// Server and backend state history.
	LastChg  int64 // seconds since the last change
	Downtime int64 // seconds spent down
	ChkDown  int64
	LastSess int64 // seconds since a session was assigned; -1 never

	// Server only.
	QLimit int64 // maxqueue; 0 unset
	// ConnsMax is the most connections ever open at once, through
	// `clear counters`.
	ConnsMax int64
	// Tracked is the server this one tracks, "backend/server", or "".
	Tracked string
	// H1Conns, H1BytesIn, H1BytesOut: a backend's HTTP health check
	// traffic, for HAProxy's HTTP/1 module columns.
	H1Conns, H1BytesIn, H1BytesOut int64
	// Dynamic: added with `add server`.
	Dynamic bool
	// ForcedID: the id was given with `id`, not assigned.
	ForcedID bool
	Throttle int64 // slowstart percentage; -1 outside a warm-up
	Backup   bool
	Addr     string
	// HasCheck: the server's health check is enabled (chkfail, chkdown,
	// downtime shown). CheckShown: enabled and not paused by maintenance
	// (check_* columns shown).
	HasCheck, CheckShown bool
	ChkFail              int64
	CheckStatus          string // with "* " while a check runs
	CheckDesc            string
	CheckDuration        int64 // ms
	CheckCode            int64 // layer 7 status (HTTP) of the last check
	LastChk              string
	CheckRise, CheckFall int64
	CheckHealth          int64
	// AgentShown: an agent check is enabled (agent_* columns shown).
	AgentShown               bool
	AgentStatus, AgentDesc   string
	LastAgt                  string
	AgentCode, AgentDuration int64
	AgentNum                 CheckStatus
	AgentRise, AgentFall     int64
	AgentHealth              int64

	// Frontend rates and limits.
	Rate, RateMax         int64
	RateLim               int64
	ConnRate, ConnRateMax int64
	ConnTot               int64

	// Backend and server averages and maxima, in ms.
	QTime, CTime, TTime          int64
	QTimeMax, CTimeMax, TTimeMax int64

	Algo string // backend's balance algorithm

	// Server state as `show servers state` stores it.
	OpState   Op
	AdminBits Admin
	IWeight   int64
	CheckNum  CheckStatus
	// CheckState holds HAProxy's check flags: 0x1 running, 0x2
	// configured, 0x4 enabled, 0x8 paused by maintenance.
	CheckState int64
	IP         string // server address without port; "" when unresolved
	FQDN       string // host name the server was given, if any
	Port       int64
	CheckPort  int64
	CheckAddr  string
	// AgentState holds the agent's flags as CheckState does, plus 0x10
	// (an agent); AgentAddr and AgentPort are where it is asked.
	AgentState int64
	AgentAddr  string
	AgentPort  int64
}

// Stats returns a row for every object, in HAProxy's order: for each
// proxy in configuration order its FRONTEND, its listeners, its servers,
// its BACKEND.
func (c *Core) Stats() []StatRow {
	now := time.Now()
	var rows []StatRow
	for _, p := range c.top().proxies {
		if f := p.fe; f != nil {
			rows = f.appendStatRows(rows, now)
		}
		if b := p.be; b != nil {
			rows = b.appendStatRows(rows, now)
		}
	}
	return rows
}

// appendStatRows appends the frontend's row and its listeners'.
func (f *Frontend) appendStatRows(rows []StatRow, now time.Time) []StatRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	status := "OPEN"
	switch f.state {
	case FrontendPaused:
		status = "PAUSED"
	case FrontendStopped:
		status = "STOP"
	}
	fe := StatRow{
		Type: RowFrontend, Proxy: f.name, Name: "FRONTEND", ProxyID: f.id, Mode: "tcp", Status: status,
		SLim:    f.slots.limit.Load(),
		RateLim: int64(f.conf().RateLimitSessions),
	}
	fillCommon(&fe, &f.cnt, now)
	fe.Rate, fe.RateMax = f.cnt.Rate.read(now), f.cnt.Rate.Max()
	fe.ConnRate, fe.ConnRateMax = f.cnt.ConnRate.read(now), f.cnt.ConnRate.Max()
	fe.ConnTot = f.cnt.ConnTot.Load()
	fe.EReq = f.cnt.Ereq.Load()
	rows = append(rows, fe)
	for _, l := range f.listeners {
		st := "OPEN"
		switch {
		case l.ln == nil:
			st = status
		case l.slots.full():
			st = "FULL"
		case f.slots.full() || f.core.global.full():
			st = "WAITING"
		}
		r := StatRow{
			Type: RowListener, Proxy: f.name, Name: l.name, ProxyID: f.id, ID: l.id, Mode: "tcp", Status: st,
			SLim: l.slots.limit.Load(), Addr: l.addr,
		}
		if r.SLim == 0 {
			r.SLim = fe.SLim
		}
		fillCommon(&r, &l.cnt, now)
		rows = append(rows, r)
	}
	return rows
}

func fillCommon(r *StatRow, c *Counters, now time.Time) {
	r.SCur, r.SMax, r.STot = c.Cur.Load(), c.Max.Load(), c.Tot.Load()
	r.BIn, r.BOut = c.In.Load(), c.Out.Load()
	r.Eint = c.Eint.Load()
}

// fillBackendish fills what backends and servers share.
func fillBackendish(r *StatRow, c *Counters, now time.Time) {
	fillCommon(r, c, now)
	r.ECon, r.EResp = c.Econ.Load(), c.Eresp.Load()
	r.WRetr, r.WRedis = c.Retries.Load(), c.Redisp.Load()
	r.LBTot, r.Connect = c.LBTot.Load(), c.Connect.Load()
	r.CliAbrt, r.SrvAbrt = c.CliAbrt.Load(), c.SrvAbrt.Load()
	r.Rate, r.RateMax = c.Rate.read(now), c.Rate.Max()
	r.QTime, r.CTime, r.TTime = c.QTime.Value(), c.CTime.Value(), c.TTime.Value()
	r.QTimeMax, r.CTimeMax, r.TTimeMax = c.QTimeMax.Load(), c.CTimeMax.Load(), c.TTimeMax.Load()
	r.LastSess = -1
	if t := c.LastSess.Load(); t != 0 {
		r.LastSess = int64(now.Sub(time.Unix(0, t)) / time.Second)
	}
}

// appendStatRows appends the servers' rows and the BACKEND row, growing
// rows once for all of them: a row is ~900 bytes, and growing by appends
// copied the rows at every doubling, in a slice of its own per backend
// (perf under a loop of `show stat` with 1,000 servers: 6% of pivotd's
// CPU in growslice, and the collections of that garbage more).
func (b *Backend) appendStatRows(rows []StatRow, now time.Time) []StatRow {
	b.mu.Lock()
	defer b.mu.Unlock()
	set := b.set.Load()
	rows = slices.Grow(rows, len(b.servers)+1)
	for _, s := range b.servers {
		rows = append(rows, s.statRowLocked(now))
	}
	be := StatRow{
		Type: RowBackend, Proxy: b.name, Name: "BACKEND", ProxyID: b.id, Mode: "tcp",
		SLim: int64(b.fullconn),
		Act:  int64(set.active), Bck: int64(set.backups),
		Algo: b.conf().Balance.Algo,
	}
	fillBackendish(&be, &b.cnt, now)
	be.QCur, be.QMax = b.queue.len(), b.cnt.QMax.Load()
	be.Weight = int64(set.totalWeight)
	for _, s := range set.servers {
		be.UWeight += int64(s.uweight)
	}
	be.Status = "UP"
	if len(set.servers) == 0 && len(b.servers) > 0 {
		be.Status = "DOWN"
	}
	be.LastChg = int64(now.Sub(b.lastChange) / time.Second)
	be.ChkDown = b.chkDown
	be.H1Conns, be.H1BytesIn, be.H1BytesOut = b.h1Conns.Load(), b.h1BytesIn.Load(), b.h1BytesOut.Load()
	be.Downtime = int64(b.downtimeLocked(now) / time.Second)
	return append(rows, be)
}

func (b *Backend) downtimeLocked(now time.Time) time.Duration {
	d := b.downtime
	if !b.downSince.IsZero() {
		d += now.Sub(b.downSince)
	}
	return d
}

func (s *Server) statRowLocked(now time.Time) StatRow {
	r := StatRow{
		Type: RowServer, Proxy: s.b.name, Name: s.name, ProxyID: s.b.id, ID: s.id, Mode: "tcp",
		Status:   s.statusTextLocked(),
		SLim:     int64(s.cfgMaxconn),
		QLimit:   int64(s.maxqueue),
		Backup:   s.backup,
		Addr:     s.addr.Load().String(),
		Weight:   int64(s.eweightLocked(now)),
		UWeight:  int64(s.uweight),
		LastChg:  int64(now.Sub(s.lastChange) / time.Second),
		ChkDown:  s.chkDown,
		ConnsMax: s.connsMax.Load(),
		Dynamic:  s.dynamic,
		Tracked:  trackedPath(s),
		ForcedID: s.initial.IDForced,
	}
	if s.backup {
		r.Bck = 1
	} else {
		r.Act = 1
	}
	fillBackendish(&r, &s.cnt, now)
	d := s.downtime
	if !s.downSince.IsZero() {
		d += now.Sub(s.downSince)
	}
	r.Downtime = int64(d / time.Second)
	r.Throttle = -1
	if p := s.throttleLocked(now); p < 100 && !s.admin.Drain() {
		r.Throttle = int64(p)
	}
	a := s.addr.Load()
	r.OpState, r.AdminBits, r.IWeight = s.op, s.admin, int64(s.initial.Weight)
	r.Port = int64(a.port)
	if a.ip.IsValid() {
		r.IP = a.ip.String()
	}
	if r.IP != a.host {
		r.FQDN = a.host
	}
	c := &s.check
	r.CheckNum = c.status
	r.CheckPort, r.CheckAddr = int64(c.port), c.addr
	r.CheckState = c.flags()
	r.HasCheck = c.enabled
	r.CheckShown = c.enabled && !s.admin.Maint()
	r.ChkFail = c.failed
	r.CheckStatus = c.status.Code()
	if c.running {
		r.CheckStatus = "* " + r.CheckStatus
	}
	r.CheckDesc = c.status.Desc()
	r.CheckCode = int64(c.code)
	r.CheckDuration = c.duration.Milliseconds()
	r.LastChk = c.info
	r.CheckRise, r.CheckFall, r.CheckHealth = int64(c.rise), int64(c.fall), int64(c.health)

	ag := &s.agent
	if ag.configured {
		r.AgentState = ag.flags() | 0x10
		r.AgentAddr, r.AgentPort = ag.addr, int64(ag.port)
	}
	r.AgentShown = ag.enabled
	r.AgentNum = ag.status
	r.AgentStatus = ag.status.Code()
	if ag.running {
		r.AgentStatus = "* " + r.AgentStatus
	}
	r.AgentDesc = ag.status.Desc()
	r.LastAgt = ag.info
	r.AgentCode = int64(ag.code)
	r.AgentDuration = ag.duration.Milliseconds()
	r.AgentRise, r.AgentFall, r.AgentHealth = int64(ag.rise), int64(ag.fall), int64(ag.health)
	return r
}

// flags are HAProxy's check state bits: 0x1 running, 0x2 configured,
// 0x4 enabled, 0x8 paused by maintenance.
func (c *checkState) flags() int64 {
	var f int64
	for _, b := range []struct {
		on  bool
		bit int64
	}{{c.running, 0x1}, {c.configured, 0x2}, {c.enabled, 0x4}, {c.paused, 0x8}} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

func trackedPath(s *Server) string {
	if s.track == nil {
		return ""
	}
	return s.track.path()
}
