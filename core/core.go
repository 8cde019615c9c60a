// Package core is pivot's data path and its model: frontends that accept,
// backends that pick a server, servers with their administrative and
// operational states, health checks, sessions that relay bytes, and the
// counters `show stat` reports.
//
// Typical use, as pivotd does it:
//
//	cfg, err := config.Load(files)
//	c, err := core.New(cfg, core.Options{})
//	if err := c.Start(); err != nil { ... } // binds every frontend
//	defer c.Stop()
//	c.SetServerState("pg", "node1", core.StateDrain) // what the admin socket calls
//
// Every rule about what a state change means lives here; the admin socket
// only translates words into calls of this package's API.
package core

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"pivot/core/config"
	"pivot/core/handover"
	"pivot/core/logging"
	"pivot/core/probe"
	"pivot/core/relay"
)

// Options are what pivotd passes besides the configuration.
type Options struct {
	// Stdout and Stderr receive `log stdout` / `log stderr` lines and the
	// daemon's own diagnostics; nil means os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// PID is the process id shown in logs; zero means os.Getpid().
	PID int
	// StateFile is where the runtime state is kept across restarts (see
	// statefile.go); empty keeps nothing.
	StateFile string
	// Handover holds the listening sockets of the pivotd this one
	// replaces; a frontend takes its socket from there rather than bind.
	Handover *handover.Pool
}

// Core is a running configuration: its frontends, backends and servers.
type Core struct {
	opts Options
	diag *logging.DiagLogger

	// topo is the configuration being served and what was built from
	// it; a reload replaces it whole (see reload.go).
	topo atomic.Pointer[topology]
	// loggersMu guards loggers, every logger ever opened (closed at Stop:
	// sessions from before a reload may still log to old ones).
	loggersMu sync.Mutex
	loggers   []*logging.Logger

	global    *limiter     // global maxconn
	rateLimit atomic.Int64 // connections per second, 0 = none
	// sessRateLimit is `set rate-limit sessions global`: in TCP it caps
	// the same accepted connections.
	sessRateLimit atomic.Int64
	connRate      rateMeter
	actconn       atomic.Int64

	nextSessID atomic.Uint64
	sessions   sessionSet
	// relay moves the bytes of every session once connected: event
	// loops, one per core (see core/relay). Started by Start.
	relay *relay.Engine

	ctx     context.Context
	cancel  context.CancelFunc
	sessWG  sync.WaitGroup // sessions
	loopWG  sync.WaitGroup // checks and warm-ups
	started time.Time
	// starting is true while New builds the servers: coming up at
	// start-up is not a return from down, so there is no slowstart.
	starting bool

	stopping atomic.Bool // set by SoftStop and Stop
	reloadMu sync.Mutex  // one reload at a time
	stopOnce sync.Once
	// trackMu is taken before any backend lock by whatever may change a
	// server's state, so that the change can reach trackers in other
	// backends (see track.go).
	trackMu sync.Mutex
	// state writes the state file; nil when none is kept.
	state *stateFile
}

// cores is how many threads Go ran Go code on when pivotd started: the
// CPUs it may use.
var cores = runtime.GOMAXPROCS(0)

// topology is one configuration and its frontends and backends.
type topology struct {
	cfg       *config.Config
	proxies   []*proxy // configuration order, as show stat lists them
	frontends map[string]*Frontend
	backends  map[string]*Backend
}

// top is the topology being served.
func (c *Core) top() *topology { return c.topo.Load() }

// proxy is one section of the configuration: a frontend, a backend, or
// both for a listen section.
type proxy struct {
	cfg *config.Proxy
	fe  *Frontend
	be  *Backend
}

// New builds the model of cfg: backends with their servers (resolving
// host names), then frontends. It binds nothing and starts nothing.
func New(cfg *config.Config, opts Options) (*Core, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	c := &Core{
		opts:     opts,
		diag:     logging.Diag(opts.Stderr, opts.PID),
		global:   newLimiter(globalMaxconn(cfg)),
		started:  time.Now(),
		starting: true,
	}
	c.topo.Store(&topology{cfg: cfg, frontends: map[string]*Frontend{}, backends: map[string]*Backend{}})
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for _, px := range cfg.Proxies {
		log, err := c.newLogger(px)
		if err != nil {
			c.closeLoggers()
			return nil, err
		}
		p := &proxy{cfg: px}
		if px.Kind.HasBackend() {
			b, err := newBackend(c, px, log)
			if err != nil {
				c.closeLoggers()
				return nil, err
			}
			p.be = b
			c.top().backends[px.Name] = b
		}
		c.top().proxies = append(c.top().proxies, p)
	}
	c.linkTracks()
	for _, p := range c.top().proxies {
		if !p.cfg.Kind.HasFrontend() {
			continue
		}
		be := p.be
		if p.cfg.DefaultBackend != "" {
			be = c.top().backends[p.cfg.DefaultBackend]
		}
		if be == nil {
			c.closeLoggers()
			return nil, fmt.Errorf("frontend %q: no backend to send connections to", p.cfg.Name)
		}
		log := be.log
		if p.cfg.Kind == config.KindFrontend {
			var err error
			if log, err = c.newLogger(p.cfg); err != nil {
				c.closeLoggers()
				return nil, err
			}
		}
		p.fe = newFrontend(c, p.cfg, be, log)
		c.top().frontends[p.cfg.Name] = p.fe
	}
	keys := listenerKeys(cfg)
	for _, p := range c.top().proxies {
		if p.fe != nil {
			for i, l := range p.fe.listeners {
				l.key = keys[p.cfg][i]
			}
		}
	}
	c.setFullconn()
	if opts.StateFile != "" {
		c.state = &stateFile{path: opts.StateFile, soon: make(chan struct{}, 1)}
		c.restoreState()
	}
	c.starting = false
	return c, nil
}

// setFullconn gives each backend its fullconn: as configured, or, as in
// HAProxy, a tenth of the maxconn of the frontends sending to it, rounded
// up (at least 1).
func (c *Core) setFullconn() {
	top := c.top()
	sum := map[*Backend]int{}
	for _, f := range top.frontends {
		sum[f.backend.Load()] += c.frontendMaxconn(f.conf())
	}
	for _, b := range top.backends {
		n := b.conf().FullConn
		if n == 0 {
			n = max((sum[b]+9)/10, 1)
		}
		b.mu.Lock()
		b.fullconn = n
		b.mu.Unlock()
	}
}

func (c *Core) newLogger(px *config.Proxy) (*logging.Logger, error) {
	l, err := logging.New(px.Logs, logging.Options{
		Tag: "pivot", PID: c.opts.PID, Stdout: c.opts.Stdout, Stderr: c.opts.Stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", px.Kind, px.Name, err)
	}
	c.loggersMu.Lock()
	c.loggers = append(c.loggers, l)
	c.loggersMu.Unlock()
	return l, nil
}

func (c *Core) closeLoggers() {
	c.loggersMu.Lock()
	defer c.loggersMu.Unlock()
	for _, l := range c.loggers {
		l.Close()
	}
}

// newBackend builds a backend and its servers from the configuration.
func newBackend(c *Core, px *config.Proxy, log *logging.Logger) (*Backend, error) {
	b := &Backend{
		core:   c,
		name:   px.Name,
		id:     px.ID,
		listen: px.Kind == config.KindListen,
		algo:   newAlgorithm(px.Balance.Algo),
		draws:  max(px.Balance.Draws, 1),
		log:    log,
	}
	b.cfg.Store(px)
	var err error
	if b.probe, err = newProbe(px.Check); err != nil {
		return nil, fmt.Errorf("backend %q: %w", px.Name, err)
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastChange = now
	for _, sc := range px.Servers {
		b.mapGCD = gcd(b.mapGCD, sc.Weight)
		s, err := b.newServerLocked(*sc, false, now)
		if err != nil {
			return nil, err
		}
		b.servers = append(b.servers, s)
	}
	b.mapGCD = max(b.mapGCD, 1)
	b.publishLocked(now)
	return b, nil
}

// newServerLocked builds a server from its configuration, resolving its
// address. Servers from the configuration start up (checked ones at
// health = rise, as HAProxy does) unless `disabled`; added ones start in
// maintenance.
func (b *Backend) newServerLocked(sc config.Server, dynamic bool, now time.Time) (*Server, error) {
	ip, err := resolve(b.core.ctx, sc.Host)
	if err != nil {
		return nil, fmt.Errorf("backend %q: server %q: cannot resolve %q: %w", b.name, sc.Name, sc.Host, err)
	}
	s := &Server{
		b:          b,
		name:       sc.Name,
		id:         sc.ID,
		backup:     sc.Backup,
		dynamic:    dynamic,
		initial:    sc,
		op:         OpRunning,
		uweight:    sc.Weight,
		cfgMaxconn: sc.MaxConn,
		maxqueue:   sc.MaxQueue,
		lastChange: now,
	}
	s.addr.Store(newServerAddr(sc.Host, ip, sc.Port))
	s.check = checkState{
		configured: sc.Check,
		enabled:    sc.Check && !dynamic,
		rise:       sc.Rise,
		fall:       sc.Fall,
		health:     sc.Rise,
		inter:      sc.Inter,
		fastInter:  sc.FastInter,
		downInter:  sc.DownInter,
		port:       sc.CheckPort,
		addr:       sc.CheckAddr,
		status:     CheckInit,
		loop:       checkLoop,
	}
	// HAProxy's agent has a rise and fall of its own, both 1: one answer
	// decides.
	s.agent = checkState{
		configured: sc.Agent,
		enabled:    sc.Agent && !dynamic,
		rise:       1,
		fall:       1,
		health:     1,
		inter:      sc.AgentInter,
		port:       sc.AgentPort,
		addr:       sc.AgentAddr,
		send:       sc.AgentSend,
		status:     CheckInit,
		loop:       agentLoop,
	}
	// An added server starts in maintenance; `disabled` on its line
	// marks it as the configuration's maintenance, as HAProxy does.
	if dynamic || sc.Disabled {
		s.admin = AdminForcedMaint
		s.op = OpStopped
		s.downSince = now
	}
	if sc.Disabled {
		s.admin |= AdminConfigMaint
		s.check.paused = true
	}
	if sc.Check && b.probe.IsRoleCheck() && !s.admin.Maint() {
		// A role check proves the role before any connection: down, one
		// success away from up.
		s.op, s.downSince = OpStopped, now
		s.check.health = max(sc.Rise-1, 0)
	}
	if s.admin.Maint() {
		s.check.health = 0
	}
	return s, nil
}

// resolve turns a server's host into an address: an IP literal as is, a
// name through the system resolver, preferring IPv4 as HAProxy does.
func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("no address")
	}
	return ips[0], nil
}

// Start binds every enabled frontend and starts the health checks. If a
// bind fails, everything already bound is closed and the error names the
// frontend and address.
func (c *Core) Start() error {
	loops := c.top().cfg.Global.NbThread
	if loops <= 0 {
		loops = cores
	}
	// Each loop's thread sleeps in epoll_wait holding its P. While no P
	// is idle, Go's sysmon takes such a P back every 20 µs and hands it
	// around (a perf profile of 64 echo connections: 9.6% of pivotd's CPU
	// in sysmon, 2% more handing Ps off); with a P per loop beyond the
	// cores, one stays idle and sysmon leaves sleeping loops alone.
	if want := cores + loops; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
	engine, err := relay.New(loops)
	if err != nil {
		return err
	}
	engine.SetMaxPipes(maxPipes(c.top().cfg))
	c.relay = engine
	var opened []*Frontend
	for _, p := range c.top().proxies {
		f := p.fe
		if f == nil {
			continue
		}
		f.mu.Lock()
		var err error
		if f.state == FrontendOpen {
			err = f.openLocked()
		}
		f.mu.Unlock()
		if err != nil {
			for _, o := range opened {
				o.mu.Lock()
				o.closeAllLocked()
				o.mu.Unlock()
			}
			engine.Close()
			return err
		}
		opened = append(opened, f)
	}
	for _, b := range c.backendsInOrder() {
		b.mu.Lock()
		for _, s := range b.servers {
			c.startLoopsLocked(s)
		}
		b.mu.Unlock()
	}
	c.warnMissingTimeouts()
	if c.state != nil {
		c.loopWG.Add(1)
		go func() {
			defer c.loopWG.Done()
			c.stateSaver()
		}()
		c.saveState() // the file reflects this start at once
	}
	return nil
}

// warnMissingTimeouts says, as HAProxy does, which proxies run without the
// client, connect or server timeouts.
func (c *Core) warnMissingTimeouts() {
	for _, p := range c.top().proxies {
		t := p.cfg.Timeouts
		missing := (p.fe != nil && t.Client == 0) || (p.be != nil && (t.Connect == 0 || t.Server == 0))
		if missing {
			c.diag.Warning(fmt.Sprintf("config : missing timeouts for %s '%s'. While not properly invalid, you will certainly encounter various problems with such a configuration. To fix this, please ensure that all following timeouts are set to a non-zero value: 'client', 'connect', 'server'.", p.cfg.Kind, p.cfg.Name))
		}
	}
}

// startLoopsLocked starts the loops of a server's configured check and
// agent that do not run yet. s.b.mu must be held.
func (c *Core) startLoopsLocked(s *Server) {
	for _, st := range []*checkState{&s.check, &s.agent} {
		if st.configured {
			c.startLoopLocked(s, st)
		}
	}
}

// startLoopLocked starts the loop of st, s's check or agent, unless it
// runs. s.b.mu must be held.
func (c *Core) startLoopLocked(s *Server, st *checkState) {
	if st.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	st.stop = cancel
	c.loopWG.Add(1)
	go func() {
		defer c.loopWG.Done()
		st.loop(ctx, s)
	}()
}

// startWarmup runs a server's slowstart: its weight and maxconn are
// republished as they ramp up, until the warm-up ends.
func (c *Core) startWarmup(s *Server) {
	c.loopWG.Add(1)
	go func() {
		defer c.loopWG.Done()
		warmupLoop(c.ctx, s)
	}()
}

// warmupLoop republishes s's backend while s warms up, 20 steps over
// slowstart (at most every 100 ms), then marks it running.
func warmupLoop(ctx context.Context, s *Server) {
	b := s.b
	step := max(s.initial.SlowStart/20, 100*time.Millisecond)
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		now := time.Now()
		if s.op != OpStarting || s.deleted {
			b.mu.Unlock()
			return
		}
		done := !now.Before(s.warmupEnd)
		if done {
			s.op = OpRunning
		}
		b.publishLocked(now)
		b.mu.Unlock()
		if done {
			return
		}
	}
}

// Stop closes every listener and session at once and waits for every
// goroutine of the core (SIGTERM).
func (c *Core) Stop() {
	c.stopOnce.Do(func() {
		c.stopping.Store(true)
		c.closeListeners()
		c.cancel()
		c.sessions.shutdown(termKilled)
		c.sessWG.Wait()
		if c.relay != nil {
			c.relay.Close()
		}
		c.loopWG.Wait()
		c.closeLoggers()
	})
}

// SoftStop stops accepting, lets running sessions finish for up to
// grace (zero: no limit), then stops (SIGUSR1). It returns the number of
// sessions that were still open and had to be cut.
func (c *Core) SoftStop(grace time.Duration) int {
	c.stopping.Store(true)
	c.closeListeners()
	done := make(chan struct{})
	go func() {
		c.sessWG.Wait()
		close(done)
	}()
	var deadline <-chan time.Time
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		deadline = t.C
	}
	cut := 0
	select {
	case <-done:
	case <-deadline:
		cut = int(c.actconn.Load())
	}
	c.Stop()
	<-done
	return cut
}

func (c *Core) closeListeners() {
	for _, p := range c.top().proxies {
		if f := p.fe; f != nil {
			f.mu.Lock()
			f.closeAllLocked()
			if f.state == FrontendOpen {
				f.state = FrontendPaused
			}
			f.mu.Unlock()
		}
	}
}

// ListenerFiles duplicates the open listening sockets for a handover,
// keyed as the new process's frontends will look for them. The caller
// closes the files.
func (c *Core) ListenerFiles() map[string]*os.File {
	files := map[string]*os.File{}
	for _, p := range c.top().proxies {
		f := p.fe
		if f == nil {
			continue
		}
		f.mu.Lock()
		for _, l := range f.listeners {
			if l.ln == nil {
				continue
			}
			if fd, err := handover.Dup(l.ln.FD(), l.key); err == nil {
				files[l.key] = fd
			}
		}
		f.mu.Unlock()
	}
	return files
}

// HandOver is SoftStop for a process whose sockets a new pivotd now
// serves: it stops accepting and writing the state file (the new process
// owns both), then lets the running sessions finish.
func (c *Core) HandOver(grace time.Duration) int {
	if c.state != nil {
		c.state.disable()
	}
	return c.SoftStop(grace)
}

// ActiveSessions is the number of client connections open now.
func (c *Core) ActiveSessions() int64 { return c.actconn.Load() }

func (c *Core) backendsInOrder() []*Backend {
	var list []*Backend
	for _, p := range c.top().proxies {
		if p.be != nil {
			list = append(list, p.be)
		}
	}
	return list
}

// sleep waits d unless ctx ends first; it reports whether d passed.
func (c *Core) sleep(ctx context.Context, d time.Duration) bool {
	return c.sleepUntil(ctx.Done(), d)
}

func (c *Core) sleepUntil(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// waitRate holds a listener's accepting while a rate limit is reached: the
// global `set rate-limit connections global` or a frontend's `rate-limit
// sessions`. It returns false when stop closes.
func waitRate(meter *rateMeter, limit *atomic.Int64, stop <-chan struct{}) bool {
	for {
		if rateAllows(meter, limit, time.Now()) {
			return true
		}
		t := time.NewTimer(time.Second / time.Duration(max(limit.Load(), 1)))
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return false
		}
	}
}

// rateAllows reports whether meter is under limit (0: none) at now.
func rateAllows(meter *rateMeter, limit *atomic.Int64, now time.Time) bool {
	n := limit.Load()
	return n <= 0 || meter.read(now) < n
}

// globalMaxconn is `global maxconn`, or what the file descriptor limit
// allows as HAProxy computes it: two descriptors per proxied connection,
// a hundred kept for listeners, checks and logs.
func globalMaxconn(cfg *config.Config) int {
	if cfg.Global.MaxConn > 0 {
		return cfg.Global.MaxConn
	}
	if h := fdMaxconn(); h > 0 {
		return h
	}
	return config.DefaultGlobalMaxConn
}

// maxPipes is `global maxpipes`, or a quarter of the global maxconn, as
// HAProxy's default.
func maxPipes(cfg *config.Config) int {
	if cfg.Global.MaxPipes > 0 {
		return cfg.Global.MaxPipes
	}
	return max(globalMaxconn(cfg)/4, 1)
}

// frontendMaxconn is the proxy's maxconn or, as in HAProxy, the global
// one.
func (c *Core) frontendMaxconn(px *config.Proxy) int {
	if px.MaxConn > 0 {
		return px.MaxConn
	}
	return globalMaxconn(c.top().cfg)
}

// connectTimeout is `timeout connect`; zero (unset) leaves it to the
// kernel, as HAProxy does.
func (c *Core) connectTimeout(px *config.Proxy) time.Duration { return px.Timeouts.Connect }

// queueTimeout is `timeout queue`, else `timeout connect` (HAProxy's
// rule); zero means a queued connection waits until a slot frees.
func (c *Core) queueTimeout(px *config.Proxy) time.Duration {
	if px.Timeouts.Queue > 0 {
		return px.Timeouts.Queue
	}
	return px.Timeouts.Connect
}

// clientTimeout and serverTimeout are the idle limits of each side; zero
// means none.
func (c *Core) clientTimeout(px *config.Proxy) time.Duration { return px.Timeouts.Client }
func (c *Core) serverTimeout(px *config.Proxy) time.Duration { return px.Timeouts.Server }

// tunnelTimeout, when set, replaces both idle limits once the session
// is established (HAProxy applies it to TCP sessions at once).
func (c *Core) tunnelTimeout(px *config.Proxy) time.Duration { return px.Timeouts.Tunnel }

// checkTimeouts bound a check as HAProxy does: the whole check within
// `inter`; with `timeout check`, connecting within min(timeout connect,
// inter), then the exchange within `timeout check`.
func checkTimeouts(px *config.Proxy, inter time.Duration) probe.Timeouts {
	t := px.Timeouts
	if t.Check <= 0 {
		return probe.Timeouts{Connect: inter}
	}
	connect := inter
	if t.Connect > 0 {
		connect = min(t.Connect, inter)
	}
	return probe.Timeouts{Connect: connect, Read: t.Check}
}
