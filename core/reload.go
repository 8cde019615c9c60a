package core

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"slices"
	"time"

	"pivot/core/config"
	"pivot/core/logging"
	"pivot/core/probe"
	"pivot/core/relay"
)

// Reloading a running core (SIGHUP, the `reload` command): the new
// configuration is applied as a difference, in place, so that nothing
// that runs is disturbed.
//
//   - Frontends, backends and servers that are new are created and
//     started; removed ones stop taking connections, but their running
//     sessions go on until they end.
//   - Kept ones keep their runtime state (admin state, health, weights and
//     addresses set at runtime, counters, sessions); what the new
//     configuration changes replaces what the old one said: a server
//     whose configured weight changed takes the new weight, one whose
//     weight did not keeps the weight an operator set.
//   - Listening sockets are never closed for an address the new
//     configuration still has: a bind that moves between frontends takes
//     the open socket with it, so no client is refused.
//   - Servers added at runtime stay; servers deleted at runtime stay
//     deleted.
//
// Everything that can fail (resolving addresses, binding, building
// checks and loggers) is done before anything changes: a reload that
// fails changes nothing.

// Reload applies cfg to the running core and returns what changed, one
// line per change ("backend pg: server pg3 added"). On error nothing
// changed.
func (c *Core) Reload(cfg *config.Config) ([]string, error) {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	if c.stopping.Load() {
		return nil, ErrStopping
	}
	r := &reload{c: c, old: c.top(), cfg: cfg, now: time.Now(),
		backends: map[string]*backendPlan{}, taken: map[*listener]bool{}}
	if err := r.prepare(); err != nil {
		r.abort()
		return nil, err
	}
	r.apply()
	c.saveState()
	return r.changes, nil
}

type reload struct {
	c       *Core
	old     *topology
	cfg     *config.Config
	now     time.Time
	changes []string

	backends  map[string]*backendPlan
	frontends []*frontendPlan
	// taken are the old listeners whose sockets new listeners take.
	taken map[*listener]bool
	// opened and loggers are what prepare made, undone by abort.
	opened  []*relay.Listener
	loggers []*logging.Logger
}

// backendPlan is one backend of the new configuration.
type backendPlan struct {
	b     *Backend
	px    *config.Proxy
	isNew bool
	probe *probe.Check    // a kept backend's new check; nil: unchanged
	log   *logging.Logger // a kept backend's new logger; nil: unchanged
}

// frontendPlan is one frontend of the new configuration.
type frontendPlan struct {
	f     *Frontend
	px    *config.Proxy
	isNew bool
	be    *Backend
	log   *logging.Logger
	// listeners is the frontend's new list: kept ones (open already),
	// and new ones that take a socket from sockets or from moved.
	listeners []*listener
	sockets   map[*listener]*relay.Listener
	moved     map[*listener]*listener
}

func (r *reload) notef(format string, a ...any) {
	r.changes = append(r.changes, fmt.Sprintf(format, a...))
}

func (r *reload) newLogger(px *config.Proxy) (*logging.Logger, error) {
	l, err := r.c.newLogger(px)
	if err == nil {
		r.loggers = append(r.loggers, l)
	}
	return l, err
}

// prepare builds everything the new configuration needs and could fail
// to get, touching nothing that runs.
func (r *reload) prepare() error {
	for _, px := range r.cfg.Proxies {
		if !px.Kind.HasBackend() {
			continue
		}
		if err := r.prepareBackend(px); err != nil {
			return err
		}
	}
	keys := listenerKeys(r.cfg)
	for _, px := range r.cfg.Proxies {
		if !px.Kind.HasFrontend() {
			continue
		}
		if err := r.prepareFrontend(px, keys); err != nil {
			return err
		}
	}
	return nil
}

func (r *reload) prepareBackend(px *config.Proxy) error {
	b := r.old.backends[px.Name]
	if b == nil {
		log, err := r.newLogger(px)
		if err != nil {
			return err
		}
		if b, err = newBackend(r.c, px, log); err != nil {
			return err
		}
		r.backends[px.Name] = &backendPlan{b: b, px: px, isNew: true}
		return nil
	}
	plan := &backendPlan{b: b, px: px}
	old := b.conf()
	var err error
	if !reflect.DeepEqual(old.Check, px.Check) {
		if plan.probe, err = newProbe(px.Check); err != nil {
			return fmt.Errorf("backend %q: %w", px.Name, err)
		}
	}
	if !reflect.DeepEqual(old.Logs, px.Logs) {
		if plan.log, err = r.newLogger(px); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sc := range px.Servers {
		s := b.serverLocked(sc.Name)
		if s == nil || s.initial.Host != sc.Host {
			if _, err := resolve(r.c.ctx, sc.Host); err != nil {
				return fmt.Errorf("backend %q: server %q: cannot resolve %q: %w", px.Name, sc.Name, sc.Host, err)
			}
		}
	}
	for _, s := range b.servers {
		if s.dynamic || slices.ContainsFunc(px.Servers, func(sc *config.Server) bool { return sc.Name == s.name }) {
			continue
		}
		for _, t := range s.trackers {
			if t.dynamic {
				return fmt.Errorf("backend %q: server %q is tracked by %s, added at runtime: delete that server first", px.Name, s.name, t.path())
			}
		}
	}
	r.backends[px.Name] = plan
	return nil
}

// listenerKeys numbers the binds of cfg as core.New does.
func listenerKeys(cfg *config.Config) map[*config.Proxy][]string {
	keys := map[*config.Proxy][]string{}
	seen := map[string]int{}
	for _, px := range cfg.Proxies {
		if !px.Kind.HasFrontend() {
			continue
		}
		for _, b := range px.Binds {
			for port := b.Port; port <= max(b.PortEnd, b.Port); port++ {
				k := bindNetwork(b) + " " + net.JoinHostPort(b.Host, fmt.Sprint(port))
				seen[k]++
				keys[px] = append(keys[px], fmt.Sprintf("%s #%d", k, seen[k]))
			}
		}
	}
	return keys
}

func (r *reload) prepareFrontend(px *config.Proxy, keys map[*config.Proxy][]string) error {
	name := px.Name
	if px.DefaultBackend != "" {
		name = px.DefaultBackend
	}
	bp := r.backends[name]
	if bp == nil {
		return fmt.Errorf("frontend %q: no backend to send connections to", px.Name)
	}
	plan := &frontendPlan{px: px, be: bp.b, sockets: map[*listener]*relay.Listener{}, moved: map[*listener]*listener{}}
	f := r.old.frontends[px.Name]
	// A listen section logs with its backend's logger, a frontend with
	// its own, kept when its targets did not change.
	var log *logging.Logger
	switch {
	case px.Kind != config.KindFrontend:
		log = bp.b.log
		if bp.log != nil {
			log = bp.log
		}
	case f != nil && f.conf().Kind == config.KindFrontend && reflect.DeepEqual(f.conf().Logs, px.Logs):
		log = f.log.Load()
	default:
		var err error
		if log, err = r.newLogger(px); err != nil {
			return err
		}
	}
	if f == nil || f.log.Load() != log {
		plan.log = log
	}
	// A template of the new frontend gives its listeners.
	tmpl := newFrontend(r.c, px, bp.b, log)
	for i, l := range tmpl.listeners {
		l.key = keys[px][i]
	}
	open := f == nil && !px.Disabled
	if f == nil {
		f, plan.isNew = tmpl, true
	} else {
		f.mu.Lock()
		open = f.state == FrontendOpen
		f.mu.Unlock()
	}
	plan.f = f
	for _, nl := range tmpl.listeners {
		nl.fe = f
		if ol := r.openListener(nl.key); ol != nil {
			r.taken[ol] = true
			if ol.fe == f && ol.name == nl.name && ol.id == nl.id {
				ol.slots.setLimit(int(nl.slots.limit.Load()))
				plan.listeners = append(plan.listeners, ol)
				continue
			}
			plan.moved[nl] = ol
		} else if open {
			ln, err := r.c.listen(nl)
			if err != nil {
				return fmt.Errorf("frontend %q: cannot bind %s: %w", px.Name, nl.addr, err)
			}
			r.opened = append(r.opened, ln)
			plan.sockets[nl] = ln
		}
		plan.listeners = append(plan.listeners, nl)
	}
	r.frontends = append(r.frontends, plan)
	return nil
}

// openListener is the old configuration's open listener with key.
func (r *reload) openListener(key string) *listener {
	for _, f := range r.old.frontends {
		f.mu.Lock()
		for _, l := range f.listeners {
			if l.key == key && l.ln != nil && !r.taken[l] {
				f.mu.Unlock()
				return l
			}
		}
		f.mu.Unlock()
	}
	return nil
}

// abort undoes prepare.
func (r *reload) abort() {
	for _, ln := range r.opened {
		ln.Close()
	}
	r.c.loggersMu.Lock()
	r.c.loggers = slices.DeleteFunc(r.c.loggers, func(l *logging.Logger) bool { return slices.Contains(r.loggers, l) })
	r.c.loggersMu.Unlock()
	for _, l := range r.loggers {
		l.Close()
	}
}

// apply switches to the new configuration. It cannot fail.
func (r *reload) apply() {
	c := r.c
	next := &topology{cfg: r.cfg, frontends: map[string]*Frontend{}, backends: map[string]*Backend{}}
	fes := map[*config.Proxy]*Frontend{}
	for _, fp := range r.frontends {
		fes[fp.px] = fp.f
		next.frontends[fp.px.Name] = fp.f
	}
	c.trackMu.Lock()
	for _, px := range r.cfg.Proxies {
		p := &proxy{cfg: px, fe: fes[px]}
		if bp := r.backends[px.Name]; bp != nil && px.Kind.HasBackend() {
			p.be = bp.b
			next.backends[px.Name] = bp.b
			if bp.isNew {
				r.notef("backend %s added", px.Name)
			} else {
				r.applyBackend(bp)
			}
		}
		next.proxies = append(next.proxies, p)
	}
	for name, b := range r.old.backends {
		if next.backends[name] != b {
			r.removeBackend(b)
		}
	}
	c.topo.Store(next)
	r.relinkTracks()
	for _, bp := range r.backends {
		bp.b.mu.Lock()
		for _, s := range bp.b.servers {
			c.startLoopsLocked(s)
		}
		bp.b.mu.Unlock()
	}
	c.trackMu.Unlock()

	if n := globalMaxconn(r.cfg); n != globalMaxconn(r.old.cfg) {
		c.global.setLimit(n)
		r.notef("global maxconn %d", n)
	}
	if n := maxPipes(r.cfg); n != maxPipes(r.old.cfg) {
		c.relay.SetMaxPipes(n)
		r.notef("global maxpipes %d", n)
	}
	// Sockets that move are freed before any frontend takes them.
	for _, fp := range r.frontends {
		for nl, ol := range fp.moved {
			ol.fe.mu.Lock()
			fp.sockets[nl] = ol.retireLocked()
			ol.fe.mu.Unlock()
		}
	}
	for _, fp := range r.frontends {
		r.applyFrontend(fp)
	}
	c.setFullconn()
	for name, f := range r.old.frontends {
		if next.frontends[name] == f {
			continue
		}
		f.mu.Lock()
		for _, l := range f.listeners {
			if !r.taken[l] {
				l.closeLocked()
			}
		}
		f.listeners = slices.DeleteFunc(f.listeners, func(l *listener) bool { return r.taken[l] })
		f.state = FrontendStopped
		f.mu.Unlock()
		r.notef("frontend %s removed", name)
	}
	if r.changes == nil {
		r.changes = []string{"no change"}
	}
}

// applyFrontend switches one frontend to its new settings and listeners.
func (r *reload) applyFrontend(fp *frontendPlan) {
	f := fp.f
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.conf()
	noted := len(r.changes)
	f.cfg.Store(fp.px)
	if f.backend.Load() != fp.be {
		f.backend.Store(fp.be)
		if !fp.isNew {
			r.notef("frontend %s: now sends to backend %s", f.name, fp.be.name)
		}
	}
	if fp.log != nil {
		f.log.Store(fp.log)
	}
	f.slots.setLimit(r.c.frontendMaxconn(fp.px))
	if fp.isNew || old.RateLimitSessions != fp.px.RateLimitSessions {
		f.rateLimit.Store(int64(fp.px.RateLimitSessions))
	}
	for _, l := range f.listeners {
		if !slices.Contains(fp.listeners, l) && l.ln != nil {
			l.closeLocked()
			r.notef("frontend %s: bind %s removed", f.name, l.addr)
		}
	}
	for _, l := range fp.listeners {
		if ln := fp.sockets[l]; ln != nil {
			if ol := fp.moved[l]; ol != nil {
				l.addr = ol.addr
			} else {
				l.addr = ln.Addr().String()
				if !fp.isNew {
					r.notef("frontend %s: bind %s added", f.name, l.addr)
				}
			}
			l.startLocked(ln)
		}
	}
	f.listeners = fp.listeners
	if fp.isNew {
		if fp.px.Disabled {
			f.state = FrontendStopped
		}
		r.notef("frontend %s added", f.name)
	} else if len(r.changes) == noted && config.Format(&config.Config{Proxies: []*config.Proxy{old}}) != config.Format(&config.Config{Proxies: []*config.Proxy{fp.px}}) {
		r.notef("frontend %s changed", f.name)
	}
}

// applyBackend switches a kept backend to its new settings and servers.
// trackMu is held.
func (r *reload) applyBackend(bp *backendPlan) {
	b, px := bp.b, bp.px
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.conf()
	b.cfg.Store(px)
	b.listen = px.Kind == config.KindListen
	if bp.probe != nil {
		b.probe = bp.probe
		r.notef("backend %s: health check changed", b.name)
	}
	if bp.log != nil {
		b.log = bp.log
	}
	if old.Balance != px.Balance {
		b.algo, b.draws = newAlgorithm(px.Balance.Algo), max(px.Balance.Draws, 1)
		r.notef("backend %s: balance %s", b.name, px.Balance.Algo)
	}
	b.mapGCD = 0
	for _, sc := range px.Servers {
		b.mapGCD = gcd(b.mapGCD, sc.Weight)
	}
	b.mapGCD = max(b.mapGCD, 1)

	var list []*Server
	for _, sc := range px.Servers {
		s := b.serverLocked(sc.Name)
		switch {
		case s == nil && slices.Contains(b.deletedNames, sc.Name):
			continue // deleted at runtime: a reload does not bring it back
		case s == nil:
			ns, err := b.newServerLocked(*sc, false, r.now)
			if err != nil {
				r.notef("backend %s: server %s not added: %v", b.name, sc.Name, err)
				continue
			}
			s = ns
			r.notef("backend %s: server %s added", b.name, sc.Name)
		case s.dynamic || config.FormatServer(s.initial) != config.FormatServer(*sc):
			b.updateServerLocked(s, *sc, r.now)
			r.notef("backend %s: server %s changed", b.name, sc.Name)
		}
		list = append(list, s)
	}
	b.deletedNames = slices.DeleteFunc(b.deletedNames, func(n string) bool {
		return !slices.ContainsFunc(px.Servers, func(sc *config.Server) bool { return sc.Name == n })
	})
	for _, s := range b.servers {
		switch {
		case slices.Contains(list, s):
		case s.dynamic:
			list = append(list, s)
		default:
			r.c.retireServerLocked(s)
			r.notef("backend %s: server %s removed", b.name, s.name)
		}
	}
	// A server added at runtime gives way to a configured id.
	for _, s := range list {
		if !s.dynamic {
			continue
		}
		for slices.ContainsFunc(list, func(o *Server) bool { return o != s && o.id == s.id }) {
			s.id++
		}
	}
	b.servers = list
	b.publishLocked(r.now)
}

// updateServerLocked applies a server's new configuration line: what the
// line changes replaces the runtime value, what it keeps leaves the
// runtime value alone. b.mu is held.
func (b *Backend) updateServerLocked(s *Server, sc config.Server, now time.Time) {
	old := s.initial
	if sc.Host != old.Host || sc.Port != old.Port {
		ip, _ := resolve(b.core.ctx, sc.Host) // resolved by prepare
		s.addr.Store(newServerAddr(sc.Host, ip, sc.Port))
	}
	if sc.Weight != old.Weight {
		s.uweight = sc.Weight
	}
	if sc.MaxConn != old.MaxConn {
		s.cfgMaxconn = sc.MaxConn
	}
	if sc.MaxQueue != old.MaxQueue {
		s.maxqueue = sc.MaxQueue
	}
	s.backup, s.id, s.dynamic = sc.Backup, sc.ID, false

	ch := &s.check
	ch.rise, ch.fall, ch.inter, ch.fastInter, ch.downInter = sc.Rise, sc.Fall, sc.Inter, sc.FastInter, sc.DownInter
	ch.port, ch.addr = sc.CheckPort, sc.CheckAddr
	ch.health = min(ch.health, ch.full())
	if sc.Check != ch.configured {
		ch.configured, ch.enabled = sc.Check, sc.Check
		ch.status = CheckInit
		if sc.Check {
			ch.health = 0
			if s.op.Up() {
				ch.health = ch.rise
			}
		} else {
			stopLoop(&ch.stop)
		}
	}
	a := &s.agent
	a.inter, a.port, a.addr, a.send = sc.AgentInter, sc.AgentPort, sc.AgentAddr, sc.AgentSend
	if sc.Agent != a.configured {
		a.configured, a.enabled, a.health, a.status = sc.Agent, sc.Agent, a.full(), CheckInit
		if !sc.Agent {
			stopLoop(&a.stop)
		}
	}
	s.initial = sc
	switch {
	case sc.Disabled && !old.Disabled:
		b.setAdminLocked(s, s.admin|AdminForcedMaint|AdminConfigMaint, byCheck, now)
	case !sc.Disabled && s.admin&AdminConfigMaint != 0:
		b.setAdminLocked(s, s.admin&^(AdminForcedMaint|AdminConfigMaint), byCheck, now)
	}
	// Nothing holds down a server whose check or agent was removed.
	if s.op == OpStopped && !s.admin.Maint() && s.track == nil && s.checkAllowsUpLocked() && s.agentAllowsUpLocked() {
		b.setOpLocked(s, OpRunning, byCheck, "reason: configuration reloaded", now)
	}
}

func stopLoop(stop *context.CancelFunc) {
	if *stop != nil {
		(*stop)()
		*stop = nil
	}
}

// retireServerLocked takes a server out of its backend for good: it
// takes no new connection, its checks stop, its sessions go on. trackMu
// and its backend's lock are held.
func (c *Core) retireServerLocked(s *Server) {
	s.deleted = true
	s.usable.Store(false)
	c.detachLocked(s)
	stopLoop(&s.check.stop)
	stopLoop(&s.agent.stop)
}

// removeBackend retires a backend the new configuration dropped.
func (r *reload) removeBackend(b *Backend) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.servers {
		r.c.retireServerLocked(s)
	}
	b.servers = nil
	b.publishLocked(r.now)
	r.notef("backend %s removed", b.name)
}

// relinkTracks points every tracking server at what its configuration
// now names, and hands each tracked server's state down to its trackers.
// trackMu is held.
func (r *reload) relinkTracks() {
	c := r.c
	backends := c.backendsInOrder()
	for _, b := range backends {
		b.mu.Lock()
		for _, s := range b.servers {
			want := ""
			if s.initial.Track != "" {
				tb, tn := config.TrackTarget(s.initial.Track, b.name)
				want = tb + "/" + tn
			}
			if s.track != nil && s.track.path() == want && !s.track.deleted {
				continue
			}
			c.detachLocked(s)
			if want != "" {
				if err := c.attachLocked(b, s); err != nil {
					r.notef("backend %s: server %s: %v", b.name, s.name, err)
				}
			}
		}
		b.mu.Unlock()
	}
	for _, b := range backends {
		b.mu.Lock()
		for _, s := range b.servers {
			if s.track == nil && len(s.trackers) > 0 {
				c.followLocked(s, map[*Backend]bool{}, r.now)
			}
		}
		b.mu.Unlock()
	}
}
