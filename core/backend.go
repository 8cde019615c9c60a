package core

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"pivot/core/config"
	"pivot/core/logging"
	"pivot/core/probe"
)

// Backend is a pool of servers and the algorithm that spreads connections
// over them.
//
// Writers (runtime changes, check results) serialize on mu and publish a
// new immutable serverSet; a pick loads the published set and never
// takes mu. roundrobin and static-rr keep a position that each pick
// moves, under a lock of their own held for the pick alone (HAProxy's
// lbprm lock).
type Backend struct {
	core *Core
	// cfg is replaced by a reload while sessions run.
	cfg    atomic.Pointer[config.Proxy]
	name   string
	id     int
	listen bool // from a `listen` section: logs say "proxy", not "backend"
	algo   algorithm
	draws  int // random(N)
	// probe is the health check of the servers that have `check`.
	probe *probe.Check
	// h1 counts the HTTP/1 traffic of HTTP health checks, which HAProxy
	// shows in its HTTP/1 statistics module columns.
	h1Conns, h1BytesIn, h1BytesOut atomic.Int64
	// fullconn is `fullconn`, or HAProxy's default for it; shown as the
	// BACKEND's slim.
	fullconn int
	log      *logging.Logger

	cnt    Counters
	rrNext atomic.Uint64 // leastconn's tie rotation
	// mapGCD divides the configured weights for the server map of
	// static-rr and source (HAProxy's wmult), keeping the map small.
	mapGCD int
	set    atomic.Pointer[serverSet] // stored with mu held; loaded lock-free
	queue  waitQueue

	mu sync.Mutex // serializes writers; a pick never takes it
	// Guarded by mu.
	servers []*Server // configuration order, then added ones
	// deletedNames are the configured servers deleted at runtime, which
	// the state file records so that a restart does not bring them back.
	deletedNames []string
	lastChange   time.Time
	downSince    time.Time // zero while the backend has a usable server
	downtime     time.Duration
	chkDown      int64
}

// conf is the backend's configuration section.
func (b *Backend) conf() *config.Proxy { return b.cfg.Load() }

// Name is the backend's name.
func (b *Backend) Name() string { return b.name }

// ID is the backend's proxy id.
func (b *Backend) ID() int { return b.id }

// errNoServer is returned by assign when no server can take the
// connection at all (termination state SC, server <NOSRV>).
var errNoServer = errors.New("no server available")

// errQueueTimeout is returned when a queued connection waited longer than
// `timeout queue` (termination state sQ).
var errQueueTimeout = errors.New("timeout while queued")

// errQueueFull is returned when the queue is at the servers' maxqueue.
var errQueueFull = errors.New("queue full")

// assign picks a server for a client and reserves a slot on it, waiting
// in the backend's queue when every usable server is at its maxconn.
// avoid is passed over if possible (redispatch).
func (b *Backend) assign(ctx context.Context, client netip.Addr, avoid *Server) (s *Server, queued time.Duration, err error) {
	for range 4 { // a state change can race a pick: try a fresh snapshot
		set := b.set.Load()
		if len(set.servers) == 0 {
			return nil, 0, errNoServer
		}
		if b.queue.len() == 0 {
			if s, retry := b.pickUsable(set, client, avoid); s != nil {
				return s, 0, nil
			} else if retry {
				continue
			}
		}
		start := time.Now()
		s, err = b.queue.wait(ctx, b, set, client, b.core.queueTimeout(b.conf()))
		queued = time.Since(start)
		if err != nil {
			return nil, queued, err
		}
		if s.usable.Load() {
			return s, queued, nil
		}
		s.release()
	}
	return nil, 0, errNoServer
}

// tryAssign picks a server for client if one is free at once: nil when
// the backend has none, or has a queue to respect.
func (b *Backend) tryAssign(client netip.Addr) *Server {
	for range 4 {
		set := b.set.Load()
		if len(set.servers) == 0 || b.queue.len() != 0 {
			return nil
		}
		if s, retry := b.pickUsable(set, client, nil); !retry {
			return s
		}
	}
	return nil
}

// pickUsable picks a server from set, holding one of its slots; retry
// says the pick raced a state change (the server is no longer usable) and
// is worth doing again on a fresh set.
func (b *Backend) pickUsable(set *serverSet, client netip.Addr, avoid *Server) (s *Server, retry bool) {
	s = set.algo.pick(b, set, client, avoid)
	if s == nil || s.usable.Load() {
		return s, false
	}
	s.release()
	return nil, true
}

// dequeue hands freed slots to queued connections, oldest first.
func (b *Backend) dequeue() {
	if b.queue.len() == 0 {
		return
	}
	b.queue.serve(b)
}

// publishLocked rebuilds the snapshot picks read and refreshes each
// server's usable flag and effective maxconn. b.mu must be held.
func (b *Backend) publishLocked(now time.Time) {
	next := &serverSet{algo: b.algo, draws: b.draws}
	var active, backups []*Server
	for _, s := range b.servers {
		u := s.usableLocked(now)
		s.usable.Store(u)
		s.maxconn.Store(s.effectiveMaxconnLocked(now))
		if !u {
			continue
		}
		if s.backup {
			backups = append(backups, s)
		} else {
			active = append(active, s)
		}
	}
	next.active, next.backups = len(active), len(backups)
	switch {
	case len(active) > 0:
		next.servers = active
	case len(backups) > 0 && b.conf().AllBackups:
		next.servers, next.usingBackups = backups, true
	case len(backups) > 0:
		next.servers, next.usingBackups = backups[:1], true
	}
	next.weights = make([]int, len(next.servers))
	next.cum = make([]int, len(next.servers))
	limit := 0
	for i, s := range next.servers {
		next.weights[i] = s.eweightLocked(now)
		next.totalWeight += next.weights[i]
		next.cum[i] = next.totalWeight
		if s.maxqueue > 0 && limit >= 0 {
			limit += s.maxqueue
		} else {
			limit = -1
		}
	}
	next.queueLimit = max(limit, 0)
	switch algo := b.algo.(type) {
	case *fwrr:
		in := make([]lbInput, len(b.servers))
		for i, s := range b.servers {
			in[i] = lbInput{s: s, usable: s.usable.Load(), weight: s.lbWeightLocked(now)}
		}
		algo.sync(in, b.conf().AllBackups)
	case *staticRR, source:
		w := make([]int, len(next.servers))
		for i, s := range next.servers {
			w[i] = (s.uweight + b.mapGCD - 1) / b.mapGCD
		}
		next.table = buildMap(next.servers, w)
	case first:
		next.byID = slices.Clone(next.servers)
		slices.SortFunc(next.byID, func(x, y *Server) int { return x.id - y.id })
	}
	b.noteAvailabilityLocked(now, len(next.servers) > 0)
	b.set.Store(next)
	// Servers that became usable may take what waits in the queue.
	b.dequeue()
}

// noteAvailabilityLocked tracks when the backend as a whole goes down
// (no usable server) and comes back, for lastchg, chkdown and downtime.
func (b *Backend) noteAvailabilityLocked(now time.Time, up bool) {
	wasDown := !b.downSince.IsZero()
	prev := b.set.Load()
	hadSet := prev != nil
	switch {
	case up && wasDown:
		b.downtime += now.Sub(b.downSince)
		b.downSince = time.Time{}
		b.lastChange = now
	case !up && !wasDown && len(b.servers) > 0:
		b.downSince = now
		b.lastChange = now
		if hadSet {
			b.chkDown++
			b.noServerAvailable()
		}
	}
}

// noServerAvailable reports that the last usable server went away, as
// HAProxy does.
func (b *Backend) noServerAvailable() {
	if b.core.starting {
		return
	}
	kind := "backend"
	if b.listen {
		kind = "proxy"
	}
	b.log.Log(logging.Emerg, kind+" "+b.name+" has no server available!")
	b.core.diag.Alert(kind + " '" + b.name + "' has no server available!")
}

// serverLocked finds a server by name. b.mu must be held.
func (b *Backend) serverLocked(name string) *Server {
	for _, s := range b.servers {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Servers returns the backend's servers in order.
func (b *Backend) Servers() []*Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.servers)
}

// waitQueue holds connections waiting for a free slot, oldest first.
type waitQueue struct {
	n  atomic.Int64
	mu sync.Mutex
	// Guarded by mu.
	waiters []*waiter
}

// waiter is one queued connection. A server handed to it arrives on ready
// with its slot already reserved.
type waiter struct {
	client netip.Addr
	ready  chan *Server
}

func (q *waitQueue) len() int64 { return q.n.Load() }

// wait queues the caller until serve hands it a server, ctx ends or
// timeout passes.
func (q *waitQueue) wait(ctx context.Context, b *Backend, set *serverSet, client netip.Addr, timeout time.Duration) (*Server, error) {
	w := &waiter{client: client, ready: make(chan *Server, 1)}
	q.mu.Lock()
	if set.queueLimit > 0 && len(q.waiters) >= set.queueLimit {
		q.mu.Unlock()
		return nil, errQueueFull
	}
	q.waiters = append(q.waiters, w)
	n := q.n.Add(1)
	q.mu.Unlock()
	raiseMax(&b.cnt.QMax, n)
	// A slot may have been freed between the failed pick and the append.
	b.dequeue()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var err error
	select {
	case s := <-w.ready:
		return s, nil
	case <-expired:
		err = errQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	q.mu.Lock()
	i := slices.Index(q.waiters, w)
	if i >= 0 {
		q.waiters = slices.Delete(q.waiters, i, i+1)
		q.n.Add(-1)
	}
	q.mu.Unlock()
	if i < 0 { // served while we gave up: give the slot back
		s := <-w.ready
		s.release()
	}
	return nil, err
}

// serve hands free slots to the waiters, oldest first. With most
// algorithms a waiter that cannot be served means none can, so it stops
// there; with `source` each waiter is bound to its own server, so one
// waiting for a full server does not hold back those of the others.
func (q *waitQueue) serve(b *Backend) {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, keyed := b.set.Load().algo.(source)
	for i := 0; i < len(q.waiters); {
		w := q.waiters[i]
		set := b.set.Load()
		s := set.algo.pick(b, set, w.client, nil)
		if s == nil {
			if !keyed {
				return
			}
			i++
			continue
		}
		q.waiters = slices.Delete(q.waiters, i, i+1)
		q.n.Add(-1)
		w.ready <- s
	}
}
