package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"pivot/core/config"
	"pivot/core/probe"
)

// checkState is a server's health check: its settings, the health
// counter HAProxy keeps (0 .. rise+fall-1) and the last result. Guarded by
// the backend's mu.
type checkState struct {
	configured bool // the server line says `check`
	enabled    bool // configured and not `disable health`
	rise, fall int
	health     int
	inter      time.Duration
	fastInter  time.Duration
	downInter  time.Duration
	port       int    // check port; 0 = the server's
	addr       string // check address; "" = the server's
	send       string // agent-send: what the agent is sent (agent only)
	// loop runs this check: checkLoop or agentLoop.
	loop func(context.Context, *Server)

	status   CheckStatus
	info     string // last_chk: free text detail of the last result
	code     int    // layer 7 status of the last result (HTTP), 0 if none
	duration time.Duration
	running  bool
	// paused is HAProxy's CHK_ST_PAUSED as show servers state reports
	// it: set by maintenance while checks are enabled (and by `disabled`
	// in the configuration, checked or not), cleared on leaving
	// maintenance with checks enabled.
	paused bool
	failed int64 // chkfail: failures counted while health > 0
	last   time.Time

	stop context.CancelFunc
}

// full is the health counter's maximum: up and at full health.
func (c *checkState) full() int { return c.rise + c.fall - 1 }

// intervalLocked is the delay before the next check, as HAProxy chooses
// it: inter at full health, downinter when fully down, fastinter in
// between.
func (s *Server) intervalLocked() time.Duration {
	c := &s.check
	switch {
	case c.health == c.full():
		return c.inter
	case s.op == OpStopped && c.health == 0:
		return c.downInter
	}
	return c.fastInter
}

// checkLoop runs the health checks of one server until ctx ends. It is
// the only goroutine that checks this server, and it never holds b.mu
// while it waits on the network. As in HAProxy, the schedule keeps
// running while checks are disabled or the server is in maintenance, so
// re-enabled checks and a server leaving maintenance are checked at the
// next tick, not at once (the server comes back one failure away from
// down meanwhile).
func checkLoop(ctx context.Context, s *Server) {
	b := s.b
	b.mu.Lock()
	first := s.check.inter
	role := b.probe.IsRoleCheck()
	b.mu.Unlock()
	// Spread the first checks of all servers over one interval; a role
	// check runs at once, since its server waits for it out of rotation.
	delay := rand.N(first) + time.Millisecond
	if role {
		delay = time.Millisecond
	}
	timer := time.NewTimer(delay)
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
		if !s.check.enabled || s.admin.Maint() {
			timer.Reset(s.intervalLocked())
			b.mu.Unlock()
			continue
		}
		s.check.running = true
		s.check.info, s.check.code = "", 0 // as HAProxy, while it runs
		target := s.checkTargetLocked()
		timeouts := checkTimeouts(b.conf(), s.check.inter)
		probe, http := b.probe, b.conf().Check.Kind == config.CheckHTTP
		b.mu.Unlock()

		res := probe.Run(ctx, target, timeouts)
		if ctx.Err() != nil {
			return
		}
		if http && res.Connected {
			b.h1Conns.Add(1)
			b.h1BytesIn.Add(int64(res.Received))
			b.h1BytesOut.Add(int64(res.Sent))
		}

		done := b.core.lockTracking(b)
		s.check.running = false
		op := s.op
		b.checkResultLocked(s, res, time.Now())
		changed := s.op != op
		next := jitter(s.intervalLocked())
		done(s)
		if changed {
			b.core.saveStateSoon()
		}
		timer.Reset(next)
	}
}

// jitter spreads checks by ±1/32 of their interval so that servers
// checked at the same rate do not stay in lockstep.
func jitter(d time.Duration) time.Duration {
	if d < 32 {
		return d
	}
	return d - d/32 + rand.N(d/16)
}

// checkTargetLocked is where the check connects: `addr` and `port` when
// set, else the server's own address.
func (s *Server) checkTargetLocked() string { return s.probeTargetLocked(s.check.addr, s.check.port) }

// probeTargetLocked is host:port where set, else the server's own
// address and port.
func (s *Server) probeTargetLocked(host string, port int) string {
	a := s.addr.Load()
	if host == "" {
		host = a.ip.String()
		if !a.ip.IsValid() {
			host = a.host
		}
	}
	if port == 0 {
		port = a.port
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// checkResultLocked records a check result and moves the health counter
// the way HAProxy does: a success climbs one step and jumps to full
// health on reaching rise; a failure (counted only while health > 0)
// drops one step and falls to 0 below rise. Reaching rise brings a down
// server up; reaching 0 takes an up server down. b.mu must be held.
func (b *Backend) checkResultLocked(s *Server, res probe.Result, now time.Time) {
	c := &s.check
	status := CheckStatus(res.Status)
	c.status, c.info, c.code, c.duration, c.last = status, res.Info, res.Code, res.Took, now
	if status.Passed() {
		if c.health < c.full() {
			c.health++
			if c.health >= c.rise {
				c.health = c.full()
			}
		}
	} else if c.health > 0 {
		c.failed++
		c.health--
		if c.health < c.rise || res.Definitive {
			c.health = 0
		}
	}
	info := res.Info
	if info == "" {
		info = res.LogInfo
	}
	reason := checkReason(status, c.code, info, res.Took)
	switch {
	case c.health >= c.rise && s.op == OpStopped && s.agentAllowsUpLocked():
		b.setOpLocked(s, OpRunning, byCheck, reason, now)
	case c.health == 0 && s.op != OpStopped:
		b.setOpLocked(s, OpStopped, byCheck, reason, now)
	}
}

// checkReason words a check result for the UP/DOWN log line:
// `reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms`.
func checkReason(status CheckStatus, code int, info string, took time.Duration) string {
	r := "reason: " + status.Desc()
	if status >= CheckL7OK { // HAProxy's layer 5-7 results carry a code
		r += fmt.Sprintf(", code: %d", code)
	}
	if info != "" {
		r += fmt.Sprintf(", info: %q", info)
	}
	return r + fmt.Sprintf(", check duration: %dms", took.Milliseconds())
}
