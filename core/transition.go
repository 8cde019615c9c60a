package core

import (
	"fmt"
	"time"

	"pivot/core/logging"
)

// origin says what caused a state change; it decides how the change is
// worded in the logs, as HAProxy words it.
type origin struct {
	kind originKind
	via  string // byTrack: the tracked server, "backend/server"
}

type originKind int

const (
	originCheck originKind = iota
	originOperator
	originTrack
)

var (
	byCheck    = origin{kind: originCheck}
	byOperator = origin{kind: originOperator}
)

// byTrack is a change that follows the tracked server src.
func byTrack(src *Server) origin { return origin{kind: originTrack, via: src.path()} }

// suffix is " via b/s" for a change that follows a tracked server.
func (o origin) suffix() string {
	if o.kind == originTrack {
		return " via " + o.via
	}
	return ""
}

// setAdminLocked gives s a new set of admin causes and applies what that
// means: entering maintenance stops the server and pauses its checks,
// leaving it brings the server back as HAProxy does (checks enabled: one
// failure away from down, `UP 1/<fall>`), drain removes it from load
// balancing. Each change is logged in HAProxy's words. b.mu must be held.
func (b *Backend) setAdminLocked(s *Server, next Admin, o origin, now time.Time) {
	prev := s.admin
	if prev == next {
		return
	}
	s.admin = next
	s.lastChange = now
	var msg string
	switch {
	case !prev.Maint() && next.Maint():
		wasDown := s.op == OpStopped
		s.check.health = 0 // nothing vouches for it any more
		if s.check.enabled {
			s.check.paused = true
		}
		if !wasDown {
			s.op = OpStopped
			s.downSince = now
			s.chkDown++
		}
		b.publishLocked(now)
		if wasDown {
			msg = fmt.Sprintf("%s was DOWN and now enters maintenance%s.", s.label(), o.suffix())
		} else {
			msg = fmt.Sprintf("%s is going DOWN for maintenance%s. %s", s.label(), o.suffix(), b.leftLocked(s))
		}
	case prev.Maint() && !next.Maint():
		b.bringUpLocked(s, now)
		b.publishLocked(now)
		forced := ""
		if prev&AdminForcedMaint != 0 {
			forced = "forced "
		}
		msg = fmt.Sprintf("%s is %s/%s (leaving %smaintenance).", s.label(), upDown(s.op), readyDrain(next), forced)
	case next.Maint():
		b.publishLocked(now)
		if prev&AdminInhMaint != 0 && next&AdminInhMaint == 0 {
			msg = s.label() + " remains in forced maintenance."
		}
	case !prev.Drain() && next.Drain():
		b.publishLocked(now)
		msg = fmt.Sprintf("%s enters drain state%s. %s", s.label(), o.suffix(), b.onlineLocked())
	case prev.Drain() && !next.Drain():
		b.publishLocked(now)
		msg = fmt.Sprintf("%s is %s (leaving forced drain).", s.label(), upDown(s.op))
	case prev&AdminForcedDrain != 0 && next&AdminForcedDrain == 0 && s.track != nil:
		b.publishLocked(now)
		msg = fmt.Sprintf("%s is leaving forced drain but remains in drain mode via %s.", s.label(), s.track.path())
	case prev&AdminInhDrain != 0 && next&AdminInhDrain == 0:
		b.publishLocked(now)
		msg = s.label() + " remains in forced drain mode."
	default:
		b.publishLocked(now)
	}
	if msg != "" {
		b.stateLog(logging.Notice, msg, o)
	}
}

// upDown and readyDrain word a server's state as the "is UP/READY" of a
// log line.
func upDown(op Op) string {
	if op == OpStopped {
		return "DOWN"
	}
	return "UP"
}

func readyDrain(a Admin) string {
	if a.Drain() {
		return "DRAIN"
	}
	return "READY"
}

// bringUpLocked is the operational side of leaving maintenance: a
// tracking server takes the state of the server it tracks (mirrored in
// via), any other comes up (with checks, one failure away from down).
func (b *Backend) bringUpLocked(s *Server, now time.Time) {
	if s.check.enabled {
		s.check.health = s.check.rise
		s.check.paused = false
		if b.probe.IsRoleCheck() {
			s.check.health = s.check.rise - 1 // one success from up
		}
	}
	if !b.leavesMaintUpLocked(s) {
		s.op = OpStopped
		return
	}
	if s.track != nil && s.trackOp != OpRunning && s.trackOp != OpStarting {
		s.op = s.trackOp
	} else {
		s.op = b.upStateLocked(s, now)
	}
	s.downtime += now.Sub(s.downSince)
	s.downSince = time.Time{}
}

// leavesMaintUpLocked reports whether s, taken out of maintenance now,
// takes traffic at once rather than waiting: for its role to be proven
// again by a check, for its agent (which said down meanwhile), or for
// the server it tracks. bringUpLocked and a failover's refusal both go
// by it.
func (b *Backend) leavesMaintUpLocked(s *Server) bool {
	switch {
	case s.check.enabled && b.probe.IsRoleCheck(), !s.agentAllowsUpLocked():
		return false
	case s.track != nil:
		return s.trackOp != OpStopped
	}
	return true
}

// upStateLocked is the state a server enters when it comes up: warming
// up when it has a slowstart, else running.
func (b *Backend) upStateLocked(s *Server, now time.Time) Op {
	if s.initial.SlowStart > 0 && !b.core.starting {
		s.warmupEnd = now.Add(s.initial.SlowStart)
		b.core.startWarmup(s)
		return OpStarting
	}
	return OpRunning
}

// setOpLocked moves s to a new operational state found by a check or
// forced by an operator, with the log line HAProxy writes for it and the
// session cuts the server is configured for. b.mu must be held.
func (b *Backend) setOpLocked(s *Server, next Op, o origin, reason string, now time.Time) {
	prev := s.op
	if prev == next || s.admin.Maint() {
		return
	}
	how := ", " + reason
	if o.kind == originTrack {
		how = o.suffix()
	}
	s.lastChange = now
	if next == OpStopped {
		s.op = OpStopped
		s.downSince = now
		s.chkDown++
		b.publishLocked(now)
		b.stateLog(logging.Alert, fmt.Sprintf("%s is DOWN%s. %s", s.label(), how, b.leftLocked(s)), o)
		if o == byCheck && s.initial.OnMarkedDownShutdown {
			s.sessions.shutdown(termDown)
		}
		return
	}
	if prev == OpStopped {
		s.downtime += now.Sub(s.downSince)
		s.downSince = time.Time{}
	}
	switch next {
	case OpStopping:
		s.op = OpStopping
		b.publishLocked(now)
		b.stateLog(logging.Notice, fmt.Sprintf("%s is stopping%s. %s", s.label(), how, b.onlineLocked()), o)
		return
	case OpStarting, OpRunning:
		if prev == OpStopped {
			s.op = b.upStateLocked(s, now)
		} else {
			s.op = OpRunning
		}
	}
	b.publishLocked(now)
	b.stateLog(logging.Notice, fmt.Sprintf("%s is UP%s. %s", s.label(), how, b.onlineLocked()), o)
	if !s.backup && s.initial.OnMarkedUpShutdownBackup && s.uweight > 0 {
		for _, other := range b.servers {
			if other.backup {
				other.sessions.shutdown(termUpShutdownBackup)
			}
		}
	}
}

// label is "Server b/s" or "Backup Server b/s", as log lines begin.
func (s *Server) label() string {
	if s.backup {
		return "Backup Server " + s.b.name + "/" + s.name
	}
	return "Server " + s.b.name + "/" + s.name
}

// leftLocked ends a "going down" message.
func (b *Backend) leftLocked(s *Server) string {
	set := b.set.Load()
	return fmt.Sprintf("%d active and %d backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.",
		set.active, set.backups, s.cnt.Cur.Load())
}

// onlineLocked ends a "coming up" message.
func (b *Backend) onlineLocked() string {
	set := b.set.Load()
	return fmt.Sprintf("%d active and %d backup servers online. 0 sessions requeued, 0 total in queue.",
		set.active, set.backups)
}

// stateLog sends a state change to the backend's log targets and to
// pivotd's stderr, where HAProxy marks operator changes "CLI : ".
func (b *Backend) stateLog(sev logging.Severity, msg string, o origin) {
	if b.core.starting { // startup settles states silently, as HAProxy
		return
	}
	b.log.Log(sev, msg)
	if o == byOperator {
		msg = "CLI : " + msg
	}
	b.core.diag.Warning(msg)
}
