package core

import (
	"net/netip"
	"sync"
)

// HAProxy's weight units: a user weight (0..256) times weightScale is an
// effective weight, so that slowstart can ramp a weight-1 server in
// sixteenths.
const (
	weightScale  = 16
	maxEWeight   = 256 * weightScale
	uweightRange = 256
)

// fwrr is `balance roundrobin` as HAProxy 2.6 does it ("fast weighted
// round robin"), so that the same configuration and the same sequence of
// runtime changes send connections to the same servers in the same order:
// an operator who moves from HAProxy sees the same spread, and the
// compatibility suite can compare both daemons connection by connection.
//
// Each server has a next position (npos) on a virtual time line advancing
// by one per pick; a server of effective weight w out of a total W comes
// back every W/w positions. Servers waiting for their turn sit in the
// "current" tree ordered by position; servers whose next turn falls past
// the current window wait in "next", ordered by weight, and enter the
// window when it is renewed. A server that changes state or weight keeps
// its place as far as that is meaningful, so a change does not restart
// the cycle. Picks and updates serialize on mu, as they do on HAProxy's
// lbprm lock.
type fwrr struct {
	mu sync.Mutex
	// Guarded by mu.
	nodes    map[*Server]*fwrrNode
	order    []*fwrrNode // configuration order
	act, bck fwrrGroup
	srvAct   int       // usable active servers
	srvBck   int       // usable backup servers
	fbck     *fwrrNode // the one backup in use without allbackups
	seq      uint64    // insertion counter: equal keys stay in FIFO order
	started  bool
}

// fwrrGroup is the active or the backup servers' rotation.
type fwrrGroup struct {
	curr       fwrrTree
	t0, t1     fwrrTree
	init, next *fwrrTree
	currPos    uint32
	currWeight uint32
	nextWeight uint32
}

// fwrrNode is a server's place in the rotation. cur* is the state the
// rotation was last told about, next* the one being applied.
type fwrrNode struct {
	s                     *Server
	backup                bool
	curUsable, nextUsable bool
	curW, nextW           uint32
	npos, lpos, rweight   uint32
	tree                  *fwrrTree // nil when out of every tree
	key                   uint32
	seq                   uint64
	idx                   int // position in tree's heap
	nextFull              *fwrrNode
}

// fwrrTree is a min-heap on (key, insertion order): the first element is
// what HAProxy's ebtree returns first, equal keys in insertion order.
type fwrrTree struct{ h []*fwrrNode }

func (t *fwrrTree) less(i, j int) bool {
	a, b := t.h[i], t.h[j]
	if a.key != b.key {
		return a.key < b.key
	}
	return a.seq < b.seq
}

func (t *fwrrTree) swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.h[i].idx, t.h[j].idx = i, j
}

func (t *fwrrTree) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *fwrrTree) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			return
		}
		t.swap(i, m)
		i = m
	}
}

func (t *fwrrTree) first() *fwrrNode {
	if len(t.h) == 0 {
		return nil
	}
	return t.h[0]
}

// insertNode adds n with the key already set; n must be in no tree.
func (f *fwrr) insertNode(t *fwrrTree, n *fwrrNode) {
	f.seq++
	n.seq = f.seq
	n.tree = t
	n.idx = len(t.h)
	t.h = append(t.h, n)
	t.up(n.idx)
}

// dequeue takes n out of its tree, keeping n.tree (HAProxy's eb32_delete
// leaves lb_tree as it was: it says where the server came from).
func (f *fwrr) dequeue(n *fwrrNode) {
	t := n.tree
	if t == nil || n.idx < 0 || n.idx >= len(t.h) || t.h[n.idx] != n {
		return
	}
	i, last := n.idx, len(t.h)-1
	if i != last {
		t.swap(i, last)
	}
	t.h = t.h[:last]
	if i != last {
		t.down(i)
		t.up(i)
	}
	n.idx = -1
}

func (f *fwrr) group(n *fwrrNode) *fwrrGroup {
	if n.backup {
		return &f.bck
	}
	return &f.act
}

// queueByWeight puts n in an init or next tree: heaviest first.
func (f *fwrr) queueByWeight(t *fwrrTree, n *fwrrNode) {
	n.key = maxEWeight - n.nextW
	f.insertNode(t, n)
}

// queue places n after a pick or a change: in the current window at its
// next position, in the next window when its turn falls beyond, or
// nowhere when it is no longer usable.
func (f *fwrr) queue(n *fwrrNode) {
	g := f.group(n)
	switch {
	case !n.nextUsable:
		n.tree = nil
	case n.nextW == 0 || n.npos >= 2*g.currWeight || n.npos >= g.currWeight+g.nextWeight:
		n.npos -= g.currWeight
		f.queueByWeight(g.next, n)
	default:
		n.key = uweightRange*n.npos + (maxEWeight+n.rweight-n.nextW)/weightScale
		f.insertNode(&g.curr, n)
	}
}

// prepare adjusts n's position on leaving the tree it is in.
func (f *fwrr) prepare(n *fwrrNode) {
	g := f.group(n)
	switch n.tree {
	case g.init:
		n.npos, n.rweight = 0, 0
	case g.next:
		n.npos += g.currWeight
	case nil:
		n.npos = g.currPos
	}
}

func (n *fwrrNode) commit() { n.curUsable, n.curW = n.nextUsable, n.nextW }

// lbInput is a server's usability and effective weight (HAProxy units) as
// of a publish.
type lbInput struct {
	s      *Server
	usable bool
	weight int
}

// sync tells the rotation about the servers' new states, one server at a
// time in configuration order, as HAProxy's per-server callbacks would.
// The first call builds the rotation as HAProxy does at startup.
func (f *fwrr) sync(in []lbInput, allBackups bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nodes == nil {
		f.nodes = make(map[*Server]*fwrrNode)
		for _, g := range []*fwrrGroup{&f.act, &f.bck} {
			g.init, g.next = &g.t0, &g.t1
		}
	}
	order := make([]*fwrrNode, 0, len(in))
	seen := make(map[*Server]bool, len(in))
	for _, x := range in {
		n := f.nodes[x.s]
		if n == nil {
			n = &fwrrNode{s: x.s, backup: x.s.backup, idx: -1}
			f.nodes[x.s] = n
		}
		n.nextUsable = x.usable && x.weight > 0
		n.nextW = uint32(max(x.weight, 0))
		order = append(order, n)
		seen[x.s] = true
	}
	for s, n := range f.nodes { // deleted servers: out of service already
		if !seen[s] {
			n.nextUsable, n.nextW = false, 0
			f.update(n)
			delete(f.nodes, s)
		}
	}
	f.order = order
	if !f.started {
		f.started = true
		f.initGroups()
	} else {
		for _, n := range order {
			f.update(n)
		}
	}
	f.recount(allBackups)
}

// initGroups is the rotation at startup: every usable server in its
// group's init tree, heaviest first.
func (f *fwrr) initGroups() {
	var wAct, wBck uint32
	for _, n := range f.order {
		n.commit()
		if !n.curUsable {
			continue
		}
		if n.backup {
			wBck += n.curW
		} else {
			wAct += n.curW
		}
	}
	f.act.currPos, f.act.currWeight, f.act.nextWeight = wAct, wAct, wAct
	f.bck.currPos, f.bck.currWeight, f.bck.nextWeight = wBck, wBck, wBck
	for _, n := range f.order {
		if n.curUsable {
			f.queueByWeight(f.group(n).init, n)
		}
	}
}

// recount refreshes the usable counts and the backup in use.
func (f *fwrr) recount(allBackups bool) {
	f.srvAct, f.srvBck, f.fbck = 0, 0, nil
	for _, n := range f.order {
		if !n.curUsable {
			continue
		}
		if !n.backup {
			f.srvAct++
			continue
		}
		if f.srvBck == 0 && !allBackups {
			f.fbck = n
		}
		f.srvBck++
	}
}

// update applies one server's change of state or weight.
func (f *fwrr) update(n *fwrrNode) {
	if n.curUsable == n.nextUsable && n.curW == n.nextW {
		return
	}
	g := f.group(n)
	switch {
	case !n.curUsable && !n.nextUsable:
	case n.curUsable && !n.nextUsable: // going down
		g.nextWeight -= n.curW
		f.dequeue(n)
		n.tree = nil
	case !n.curUsable && n.nextUsable: // coming up
		g.nextWeight += n.nextW
		f.prepare(n)
		n.npos = g.currPos + (g.nextWeight+g.currWeight-g.currPos)/n.nextW
		f.queue(n)
	default: // weight change while up
		g.nextWeight = g.nextWeight - n.curW + n.nextW
		switch n.tree {
		case g.init:
			f.dequeue(n)
			f.queueByWeight(g.init, n)
		case nil:
			f.dequeue(n)
			f.prepare(n)
			n.npos = g.currPos + (g.nextWeight+g.currWeight-g.currPos)/n.nextW
			f.queue(n)
		default:
			f.prepare(n)
			prevNext := n.npos
			step := g.nextWeight / n.nextW
			n.npos = n.lpos + step
			n.rweight = 0
			if n.npos > prevNext {
				n.npos = prevNext
			}
			if n.npos < g.currPos+2 {
				n.npos = g.currPos + step
			}
			f.dequeue(n)
			f.queue(n)
		}
	}
	n.commit()
}

// fromGroup is the server whose turn it is: the first of the current
// window if its turn has come, else a server entering from init, else
// the first of the window anyway.
func (f *fwrr) fromGroup(g *fwrrGroup) *fwrrNode {
	n1 := g.curr.first()
	if n1 != nil && n1.curW > 0 && n1.npos <= g.currPos {
		return n1
	}
	if n2 := g.init.first(); n2 != nil && n2.curW > 0 {
		n2.npos, n2.rweight = 0, 0
		return n2
	}
	return n1
}

// advance moves n to its next turn.
func (g *fwrrGroup) advance(n *fwrrNode) {
	w := n.curW
	if w == 0 {
		return
	}
	if n.npos == 0 {
		n.npos = g.currPos
	}
	n.lpos = n.npos
	n.npos += g.nextWeight / w
	n.rweight += g.nextWeight % w
	if n.rweight >= w {
		n.rweight -= w
		n.npos++
	}
}

// switchTrees opens the next window.
func (g *fwrrGroup) switchTrees() {
	g.init, g.next = g.next, g.init
	g.currWeight = g.nextWeight
	g.currPos = g.currWeight
}

// full reports whether s has no free slot (HAProxy skips it, keeping its
// turn for later).
func full(s *Server) bool {
	m := s.maxconn.Load()
	return m > 0 && s.cnt.Cur.Load() >= m
}

func (f *fwrr) pick(_ *Backend, _ *serverSet, _ netip.Addr, avoid *Server) *Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	var g *fwrrGroup
	switch {
	case f.srvAct > 0:
		g = &f.act
	case f.fbck != nil:
		if f.fbck.s.tryAcquire() {
			return f.fbck.s
		}
		return nil
	case f.srvBck > 0:
		g = &f.bck
	default:
		return nil
	}
	var n, skipped, avoided *fwrrNode
	switched := false
	for n == nil {
		if g.currWeight == 0 {
			g.currPos, g.currWeight = g.nextWeight, g.nextWeight
		}
		c := f.fromGroup(g)
		for c == nil && !switched {
			switched = true
			g.switchTrees()
			c = f.fromGroup(g)
		}
		if c == nil {
			n = avoided
			break
		}
		g.advance(c)
		f.dequeue(c)
		g.currPos++
		if !full(c.s) {
			if c.s != avoid || avoided != nil {
				n = c
				break
			}
			avoided = c
		}
		c.nextFull, skipped = skipped, c
	}
	if n != nil {
		f.queue(n)
	}
	for ; skipped != nil; skipped = skipped.nextFull {
		if skipped == n {
			continue
		}
		if switched {
			f.queueByWeight(g.init, skipped)
		} else {
			f.queue(skipped)
		}
	}
	if n == nil || !n.s.tryAcquire() {
		return nil
	}
	return n.s
}

func (f *fwrr) static() bool { return false }
