package core

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"pivot/core/probe"
)

// Agent checks (`agent-check`): a second loop per server asks an agent
// running beside the service for one line, and the server's state
// follows what it says, as in HAProxy:
//
//   - up / down, stopped, fail: the agent's health, which must be up for
//     the server to be up (as the regular check's must); a down answer
//     takes the server down at once ("DOWN (agent)"), up brings it back
//     only if the regular check agrees;
//   - ready / drain / maint: the operator's admin state, as `set server
//     ... state` would set it;
//   - N%: the weight as a share of the configured one; maxconn:N.
//
// An agent that cannot be reached, answers nothing or times out changes
// nothing: the agent is advice, the regular check is the proof.

// agentLoop runs the agent checks of one server until ctx ends. It keeps
// running through maintenance, so that an agent can say `ready`.
func agentLoop(ctx context.Context, s *Server) {
	b := s.b
	b.mu.Lock()
	inter := s.agent.inter
	b.mu.Unlock()
	timer := time.NewTimer(rand.N(inter) + time.Millisecond)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		b.mu.Lock()
		if s.deleted {
			b.mu.Unlock()
			return
		}
		inter = s.agent.inter
		if !s.agent.enabled {
			timer.Reset(inter)
			b.mu.Unlock()
			continue
		}
		s.agent.running = true
		target := s.agentTargetLocked()
		chk := probe.Agent(s.agent.send)
		timeouts := checkTimeouts(b.conf(), inter)
		b.mu.Unlock()

		res := chk.Run(ctx, target, timeouts)
		if ctx.Err() != nil {
			return
		}
		done := b.core.lockTracking(b)
		s.agent.running = false
		before := s.persistedLocked()
		b.agentResultLocked(s, res, time.Now())
		changed := s.persistedLocked() != before
		done(s)
		if changed {
			b.core.saveStateSoon()
		}
		timer.Reset(jitter(inter))
	}
}

// agentWeightLocked applies an agent's "N%" and returns HAProxy's warning
// when it cannot.
func (b *Backend) agentWeightLocked(s *Server, word string, now time.Time) string {
	i := strings.IndexFunc(word, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 || word[i:] != "%" {
		return "Trailing garbage in weight string"
	}
	n, err := strconv.Atoi(word[:i])
	if err != nil {
		return "Relative weight is too high."
	}
	if err := b.setWeightLocked(s, n, true, now); err != nil {
		return err.Error()
	}
	return ""
}

// agentTargetLocked is where the agent listens: agent-addr (else the
// server's address) and agent-port (0, which only `set server ...
// agent-port 0` gives, is the server's port, as in HAProxy).
func (s *Server) agentTargetLocked() string { return s.probeTargetLocked(s.agent.addr, s.agent.port) }

// agentAllowsUpLocked reports whether the agent lets the server be up:
// it has no enabled agent, or the agent's health reached rise.
func (s *Server) agentAllowsUpLocked() bool {
	return !s.agent.enabled || s.agent.health >= s.agent.rise
}

// checkAllowsUpLocked is the same question asked of the regular check
// (and, for a tracking server, of the server it tracks).
func (s *Server) checkAllowsUpLocked() bool {
	if s.track != nil {
		return s.trackOp != OpStopped
	}
	return !s.check.enabled || s.check.health >= s.check.rise
}

// agentAdmin is the admin state each of the agent's words asks for.
var agentAdmin = map[string]AdminState{"ready": StateReady, "drain": StateDrain, "maint": StateMaint}

// agentResultLocked applies one agent answer, in HAProxy's order: the
// admin state first, then weight and maxconn, the health last.
func (b *Backend) agentResultLocked(s *Server, res probe.Result, now time.Time) {
	a := &s.agent
	a.duration, a.last, a.code = res.Took, now, 0
	if res.Status != probe.L7OK { // no answer to act on
		a.status, a.info = CheckStatus(res.Status), res.Info
		return
	}
	r := probe.ParseAgentReply(res.Info)
	if st, ok := agentAdmin[r.Admin]; ok {
		b.setAdminLocked(s, s.admin.with(st), byCheck, now)
	}
	warning := ""
	if r.Weight != "" {
		warning = b.agentWeightLocked(s, r.Weight, now)
	}
	if r.Maxconn != "" {
		n, err := strconv.Atoi(r.Maxconn)
		switch {
		case err == nil && n >= 0:
			s.cfgMaxconn = n
			b.publishLocked(now)
		case warning != "":
		case r.Maxconn[0] < '0' || r.Maxconn[0] > '9':
			warning = "maxconn string empty or preceded by garbage"
		default:
			warning = "Trailing garbage in maxconn string"
		}
	}
	up := strings.EqualFold(r.Health, "up")
	switch {
	case r.Health != "":
		// The reason the agent gave, unless it gave none or said up:
		// then its error, else a warning, takes the parentheses.
		note := r.Reason
		if note == "" || up {
			if r.Unknown != "" {
				note = r.Unknown
			} else if warning != "" {
				note = warning
			}
		}
		info := "via agent : " + r.Health
		if note != "" {
			info += " (" + note + ")"
		}
		a.info = info
		if up {
			a.status, a.health = CheckL7OK, a.full()
			if s.op == OpStopped && s.checkAllowsUpLocked() {
				b.setOpLocked(s, OpRunning, byCheck, checkReason(a.status, 0, info, res.Took), now)
			}
			return
		}
		// As in HAProxy, an agent's down is not a failed check (chkfail).
		a.status, a.health = CheckL7Sts, 0
		if s.op != OpStopped {
			b.setOpLocked(s, OpStopped, byCheck, checkReason(a.status, 0, info, res.Took), now)
		}
	case r.Unknown != "":
		a.status, a.info = CheckChecked, "agent reports an error : "+r.Unknown
	case warning != "":
		a.status, a.info = CheckChecked, "agent warns : "+warning
	default:
		a.status, a.info = CheckChecked, ""
	}
}
