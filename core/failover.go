package core

import (
	"fmt"
	"time"
)

// FailoverChange is what a failover did to one server.
type FailoverChange struct {
	Server string // its name
	From   string // its status before, as show stat words it
	To     string // its status after
	Cut    int    // sessions cut
}

// Failover makes one server of a backend the only one taking new
// connections, in one step: the target leaves maintenance and drain, then
// every other server enters maintenance, and (unless keepSessions) their
// sessions are cut. It happens under the backend's lock, in that order,
// so that at every instant some server can take a new connection, and
// once Failover returns no new connection reaches another server. A
// target that its health checks found down is refused: the backend would
// be left with nothing.
func (c *Core) Failover(backend, server string, keepSessions bool) ([]FailoverChange, error) {
	b, err := c.Backend(backend)
	if err != nil {
		return nil, err
	}
	done := c.lockTracking(b)
	target := b.serverLocked(server)
	if target == nil {
		done(nil)
		return nil, &NotFoundError{Kind: "server", Backend: backend, Name: server}
	}
	// A server in maintenance comes up when it leaves it (as `state
	// ready` brings it); one that its checks found down does not, nor
	// one that would still wait for its role check, agent or tracked
	// server once out of maintenance: the backend would be left with
	// nothing until then.
	switch {
	case !target.admin.Maint() && !target.op.Up():
		done(nil)
		return nil, fmt.Errorf("%w: backend %q: server %q is %s; the backend would be left with no server",
			ErrTargetDown, backend, server, target.statusTextLocked())
	case target.admin.Maint() && !b.leavesMaintUpLocked(target):
		done(nil)
		return nil, fmt.Errorf("%w: backend %q: server %q is in maintenance and would take no traffic until its checks pass; "+
			"set it ready first (set server %s/%s state ready), wait until it is UP, then fail over", ErrTargetDown, backend, server, backend, server)
	}
	now := time.Now()
	var changes []FailoverChange
	var others []*Server // taken out; others[i] is changes[len(changes)-len(others)+i]
	before := target.statusTextLocked()
	b.setAdminLocked(target, target.admin&^(AdminForcedMaint|AdminForcedDrain), byOperator, now)
	if after := target.statusTextLocked(); after != before {
		changes = append(changes, FailoverChange{Server: target.name, From: before, To: after})
	}
	for _, s := range b.servers {
		if s == target {
			continue
		}
		before := s.statusTextLocked()
		b.setAdminLocked(s, s.admin&^AdminForcedDrain|AdminForcedMaint, byOperator, now)
		if after := s.statusTextLocked(); after != before {
			changes = append(changes, FailoverChange{Server: s.name, From: before, To: after})
			others = append(others, s)
		}
	}
	held := map[*Backend]bool{}
	for _, s := range append([]*Server{target}, others...) {
		c.followLocked(s, held, now)
	}
	done(nil)
	c.saveState()
	if !keepSessions {
		first := len(changes) - len(others)
		for i, s := range others {
			changes[first+i].Cut = s.sessions.shutdown(termKilled)
		}
	}
	return changes, nil
}
