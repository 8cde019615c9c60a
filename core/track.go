package core

import (
	"slices"
	"time"

	"pivot/core/config"
)

// Tracking (`track [<backend>/]<server>`): a server follows another one's
// operational state, maintenance and drain instead of checking on its
// own, so that one health check can stand for a server that appears in
// several backends.
//
// A change to a tracked server reaches its trackers, and theirs in turn,
// before the call that made it returns. Trackers may live in other
// backends, so propagation holds several backend locks at once; the
// core's trackMu makes that safe: whoever may change a server's state
// takes trackMu before any backend lock, and nobody waits for trackMu
// while holding a backend lock.

// linkTracks resolves every `track` of the configuration (validated
// already) and gives the trackers their initial state, silently, as
// HAProxy does at startup.
func (c *Core) linkTracks() {
	for _, p := range c.top().proxies {
		b := p.be
		if b == nil {
			continue
		}
		for _, s := range b.servers {
			if s.initial.Track == "" {
				continue
			}
			tb, tn := config.TrackTarget(s.initial.Track, b.name)
			t := c.top().backends[tb].serverLocked(tn)
			s.track = t
			t.trackers = append(t.trackers, s)
		}
	}
	for _, p := range c.top().proxies {
		if p.be == nil {
			continue
		}
		for _, s := range p.be.servers {
			if s.track == nil && len(s.trackers) > 0 {
				c.lockTracking(p.be)(s)
			}
		}
	}
}

// followLocked hands src's state down to the servers tracking it, the
// most recently attached first (HAProxy's order, which its logs show),
// each followed at once by its own trackers. trackMu must be held, and
// the lock of every backend in held; src's backend lock must be held.
func (c *Core) followLocked(src *Server, held map[*Backend]bool, now time.Time) {
	if len(src.trackers) == 0 {
		return
	}
	held[src.b] = true
	view := src.viewLocked()
	for i := len(src.trackers) - 1; i >= 0; i-- {
		t := src.trackers[i]
		tb := t.b
		locked := !held[tb]
		if locked {
			tb.mu.Lock()
			held[tb] = true
		}
		tb.inheritLocked(t, src, view, now)
		c.followLocked(t, held, now)
		if locked {
			delete(held, tb)
			tb.mu.Unlock()
		}
	}
}

// inheritLocked applies the tracked server src's state to t: maintenance
// and drain become t's inherited causes, src's operational state becomes
// t's unless t is in maintenance, and t mirrors src's check counters for
// its status. t's backend lock must be held.
func (b *Backend) inheritLocked(t, src *Server, view checkView, now time.Time) {
	t.via = view
	t.trackOp = src.op
	next := t.admin &^ (AdminInhMaint | AdminInhDrain)
	if src.admin.Maint() {
		next |= AdminInhMaint
	}
	if src.admin.Drain() {
		next |= AdminInhDrain
	}
	o := byTrack(src)
	b.setAdminLocked(t, next, o, now)
	if !t.admin.Maint() && t.op != src.op {
		b.setOpLocked(t, src.op, o, "", now)
	}
}

// attachLocked makes s, a server being added to b, track the server its
// configuration names, refusing in HAProxy's words what cannot be
// tracked. s starts in maintenance and inherits nothing until the
// tracked server next changes, as in HAProxy. trackMu and b's lock must
// be held.
func (c *Core) attachLocked(b *Backend, s *Server) error {
	tbName, tName := config.TrackTarget(s.initial.Track, b.name)
	tb := c.top().backends[tbName]
	if tb == nil {
		return &TrackError{Msg: "unable to find required proxy '" + tbName + "' for tracking."}
	}
	if tb != b {
		tb.mu.Lock()
		defer tb.mu.Unlock()
	}
	t := tb.serverLocked(tName)
	switch {
	case t == nil:
		return &TrackError{Msg: "unable to find required server '" + tName + "' for tracking."}
	case t.dynamic:
		return &TrackError{Msg: "unable to use " + t.path() + " for tracking as it is a dynamic server."}
	case !t.check.configured && t.track == nil:
		return &TrackError{Msg: "unable to use " + t.path() + " for tracking as it does not have any check nor agent enabled."}
	}
	s.track = t
	s.via, s.trackOp = t.viewLocked(), t.op
	t.trackers = append(t.trackers, s)
	return nil
}

// detachLocked takes a deleted server out of its tracked server's list.
// trackMu and s's backend lock must be held.
func (c *Core) detachLocked(s *Server) {
	t := s.track
	if t == nil {
		return
	}
	if t.b != s.b {
		t.b.mu.Lock()
		defer t.b.mu.Unlock()
	}
	t.trackers = slices.DeleteFunc(t.trackers, func(x *Server) bool { return x == s })
	s.track = nil
}

// lockTracking takes trackMu, then b's lock, for a change that may have
// to reach trackers; the returned function hands the change of s down to
// its trackers and releases both.
func (c *Core) lockTracking(b *Backend) (done func(s *Server)) {
	c.trackMu.Lock()
	b.mu.Lock()
	return func(s *Server) {
		if s != nil && !s.deleted {
			c.followLocked(s, map[*Backend]bool{}, time.Now())
		}
		b.mu.Unlock()
		c.trackMu.Unlock()
	}
}
