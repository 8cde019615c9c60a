package logging

import (
	"net/netip"
	"strconv"
	"time"
)

// Cause is the first character of a session's termination state: the
// first event that ended the session. The table below, from section 8.5
// of HAProxy's configuration manual, lists the causes pivot reports.
//
//	char  constant             meaning
//	 -    CauseNone            normal end: one side closed, then the other
//	 C    CauseClientAbort     the client aborted (reset, or closed while
//	                           the server was not done)
//	 S    CauseServerAbort     the server aborted or refused the connection;
//	                           also "no server available" (SC with <NOSRV>)
//	 P    CauseProxy           pivot itself ended it (e.g. a limit enforced)
//	 R    CauseResource        a resource ran out (memory, sockets, ports)
//	 I    CauseInternal        pivot hit an internal error (a bug)
//	 D    CauseServerDown      the server was marked down and
//	                           on-marked-down shutdown-sessions applied
//	 U    CauseServerUp        a backup server's session was closed because
//	                           an active server came up (on-marked-up
//	                           shutdown-backup-sessions)
//	 K    CauseKilled          killed by an admin: `shutdown session`,
//	                           `shutdown sessions server`, `del server`
//	 c    CauseClientTimeout   timeout client expired
//	 s    CauseServerTimeout   timeout server or timeout connect expired
type Cause byte

// Termination causes; see [Cause] for the table.
const (
	CauseNone          Cause = '-'
	CauseClientAbort   Cause = 'C'
	CauseServerAbort   Cause = 'S'
	CauseProxy         Cause = 'P'
	CauseResource      Cause = 'R'
	CauseInternal      Cause = 'I'
	CauseServerDown    Cause = 'D'
	CauseServerUp      Cause = 'U'
	CauseKilled        Cause = 'K'
	CauseClientTimeout Cause = 'c'
	CauseServerTimeout Cause = 's'
)

// Phase is the second character of a session's termination state: where
// the session was when it ended. In TCP mode (HAProxy 8.5):
//
//	char  constant       the session was
//	 -    PhaseNone      ended normally, in no particular phase (also
//	                     after a kill of an established session: "K-")
//	 R    PhaseRequest   waiting for the client's first data (a content
//	                     inspection delay); unused by pivot today
//	 Q    PhaseQueue     waiting in a server or backend queue ("sQ":
//	                     timeout queue)
//	 C    PhaseConnect   connecting to the server, retries included ("SC":
//	                     refused or no server; "sC": timeout connect)
//	 D    PhaseData      established and moving data ("cD", "sD", "CD")
//	 L    PhaseLast      sending the last data to the client after the
//	                     server had finished
type Phase byte

// Termination phases; see [Phase] for the table.
const (
	PhaseNone    Phase = '-'
	PhaseRequest Phase = 'R'
	PhaseQueue   Phase = 'Q'
	PhaseConnect Phase = 'C'
	PhaseData    Phase = 'D'
	PhaseLast    Phase = 'L'
)

// Termination returns the two-character termination state of a session,
// e.g. Termination(CauseKilled, PhaseNone) == "K-".
func Termination(c Cause, p Phase) string {
	return string([]byte{byte(c), byte(p)})
}

// SessionRecord is what a TCP session's log line says. core fills one in
// when the session ends; TCPLogLine renders it. Field comments give the
// HAProxy log-format variable each one prints.
type SessionRecord struct {
	Client netip.AddrPort // %ci:%cp; an invalid one prints "-:-"
	Accept time.Time      // %t, printed in local time with milliseconds

	Frontend string // %ft
	Backend  string // %b
	Server   string // %s; empty prints "<NOSRV>" (no server was picked)

	// Timers, printed in whole milliseconds; a negative value prints -1,
	// HAProxy's "this step never happened".
	Tw time.Duration // %Tw: time spent in queues
	Tc time.Duration // %Tc: time to establish the server connection
	Tt time.Duration // %Tt: whole session, accept to close

	BytesRead    int64 // %B: bytes from server to client
	BytesWritten int64 // %U: bytes from client to server (not printed by tcplog)

	// Termination is the two-character state, see [Termination], [Cause]
	// and [Phase]. Empty prints "--".
	Termination string

	ActConn int // %ac: sessions in the whole process
	FeConn  int // %fc: sessions on the frontend
	BeConn  int // %bc: sessions on the backend
	SrvConn int // %sc: sessions on the server

	Retries      int  // %rc: connection retries
	Redispatched bool // the session was redispatched: %rc prints "+" first

	SrvQueue     int // %sq: requests ahead of this one in the server's queue
	BackendQueue int // %bq: requests ahead of this one in the backend's queue
}

// IsNull reports whether no byte moved in either direction. With
// `option dontlognull` such sessions (port scans, health probes from load
// balancers in front of pivot) are not logged.
func (r *SessionRecord) IsNull() bool {
	return r.BytesRead == 0 && r.BytesWritten == 0
}

// TCPLogLine renders the session as HAProxy's `option tcplog` line,
// "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq":
//
//	127.0.0.1:52212 [23/Nov/2026:06:58:37.512] pg_fe pg_be/pg1 1/0/3 13 -- 1/1/0/0/0 0/0
//
// IPv6 clients print without brackets ("::1:40000"), as HAProxy does.
func (r *SessionRecord) TCPLogLine() string {
	b := make([]byte, 0, 128)
	if r.Client.IsValid() {
		b = append(b, r.Client.Addr().WithZone("").String()...)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(r.Client.Port()), 10)
	} else {
		b = append(b, "-:-"...)
	}
	b = append(b, " ["...)
	b = r.Accept.Local().AppendFormat(b, "02/Jan/2006:15:04:05.000")
	b = append(b, "] "...)
	b = append(b, r.Frontend...)
	b = append(b, ' ')
	b = append(b, r.Backend...)
	b = append(b, '/')
	if r.Server == "" {
		b = append(b, "<NOSRV>"...)
	} else {
		b = append(b, r.Server...)
	}
	b = append(b, ' ')
	b = appendMillis(b, r.Tw)
	b = append(b, '/')
	b = appendMillis(b, r.Tc)
	b = append(b, '/')
	b = appendMillis(b, r.Tt)
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.BytesRead, 10)
	b = append(b, ' ')
	if r.Termination == "" {
		b = append(b, "--"...)
	} else {
		b = append(b, r.Termination...)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(r.ActConn), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(r.FeConn), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(r.BeConn), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(r.SrvConn), 10)
	b = append(b, '/')
	if r.Redispatched {
		b = append(b, '+')
	}
	b = strconv.AppendInt(b, int64(r.Retries), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(r.SrvQueue), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(r.BackendQueue), 10)
	return string(b)
}

// appendMillis appends d in whole milliseconds, or -1 when d is negative.
func appendMillis(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, "-1"...)
	}
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}
