package core

import (
	"fmt"
	"time"

	"pivot/core/logging"
)

// origin says what caused a state change; it decides how the change is
// worded in the logs, as HAProxy words it.
type origin int

const (
	byCheck origin = iota
	byOperator
)

// setAdminLocked gives s a new set of admin causes and applies what that
// means: entering maintenance stops the server and pauses its checks,
// leaving it brings the server back as HAProxy does (checks enabled: one
// failure away from down, `UP 1/<fall>`), drain removes it from load
// balancing. b.mu must be held.
func (b *Backend) setAdminLocked(s *Server, next Admin, o origin, now time.Time) {
	prev := s.admin
	if prev == next {
		return
	}
	s.admin = next
	s.lastChange = now
	var msgs []string
	switch {
	case !prev.Maint() && next.Maint():
		s.check.health = 0 // nothing vouches for it any more
		if s.check.enabled {
			s.check.paused = true
		}
		if s.op != OpStopped {
			s.op = OpStopped
			s.downSince = now
			s.chkDown++
		}
		b.publishLocked(now)
		msgs = append(msgs, fmt.Sprintf("%s is going DOWN for maintenance. %s", s.label(), b.leftLocked(s)))
	case prev.Maint() && !next.Maint():
		b.bringUpLocked(s, now)
		b.publishLocked(now)
		msgs = append(msgs, s.label()+" is UP/READY (leaving forced maintenance).")
		if next.Drain() {
			msgs = append(msgs, fmt.Sprintf("%s enters drain state. %s", s.label(), b.onlineLocked()))
		}
	case !next.Maint() && !prev.Drain() && next.Drain():
		b.publishLocked(now)
		msgs = append(msgs, fmt.Sprintf("%s enters drain state. %s", s.label(), b.onlineLocked()))
	case !next.Maint() && prev.Drain() && !next.Drain():
		b.publishLocked(now)
		msgs = append(msgs, s.label()+" is UP/READY (leaving forced drain).")
	default:
		b.publishLocked(now)
	}
	for _, m := range msgs {
		b.stateLog(logging.Notice, m, o)
	}
}

// bringUpLocked is the operational side of leaving maintenance.
func (b *Backend) bringUpLocked(s *Server, now time.Time) {
	if s.check.enabled {
		s.check.health = s.check.rise
		s.check.paused = false
	}
	s.downtime += now.Sub(s.downSince)
	s.downSince = time.Time{}
	s.op = b.upStateLocked(s, now)
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
	s.lastChange = now
	if next == OpStopped {
		s.op = OpStopped
		s.downSince = now
		s.chkDown++
		b.publishLocked(now)
		b.stateLog(logging.Alert, fmt.Sprintf("%s is DOWN, %s. %s", s.label(), reason, b.leftLocked(s)), o)
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
		b.stateLog(logging.Notice, fmt.Sprintf("%s is stopping, %s. %s", s.label(), reason, b.onlineLocked()), o)
		return
	case OpStarting, OpRunning:
		if prev == OpStopped {
			s.op = b.upStateLocked(s, now)
		} else {
			s.op = OpRunning
		}
	}
	b.publishLocked(now)
	b.stateLog(logging.Notice, fmt.Sprintf("%s is UP, %s. %s", s.label(), reason, b.onlineLocked()), o)
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
	b.log.Log(sev, msg)
	if o == byOperator {
		msg = "CLI : " + msg
	}
	b.core.diag.Warning(msg)
}
