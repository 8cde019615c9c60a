package core

import (
	"container/heap"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"sort"
)

// serverSet is what a pick reads. It never changes once published; every
// runtime change builds a new one (Backend.publishLocked).
type serverSet struct {
	// servers are the ones taking traffic now, in configuration order:
	// the usable active servers or, when there is none, the usable backups
	// (all of them with `option allbackups`, else the first).
	servers []*Server
	weights []int // effective weight of servers[i]
	// seq is the smooth weighted round-robin order over one full cycle
	// (length = total weight / gcd). roundrobin uses effective weights,
	// static-rr the initial ones.
	seq []*Server
	// cum holds cumulative weights for weighted random draws and the
	// source hash map.
	cum         []int
	totalWeight int
	// byID is servers sorted by id, for `first`.
	byID []*Server
	// queueLimit bounds the backend queue: the sum of the servers'
	// maxqueue when every one has one, else 0 (no limit).
	queueLimit   int
	usingBackups bool
	active       int // usable active servers
	backups      int // usable backup servers
}

// algorithm picks a server from a snapshot and reserves a slot on it. It
// returns nil when every server is full (the connection then queues) or
// when the set is empty. avoid, when not nil, is passed over unless it is
// the only choice (redispatch after a failed connection).
type algorithm interface {
	pick(b *Backend, set *serverSet, client netip.Addr, avoid *Server) *Server
	// static reports whether weights are taken from the configuration
	// only (static-rr), so runtime weight changes other than to and from
	// zero do not reorder the cycle.
	static() bool
}

func newAlgorithm(name string) algorithm {
	switch name {
	case "static-rr":
		return staticRR{}
	case "leastconn":
		return leastConn{}
	case "first":
		return first{}
	case "source":
		return source{}
	case "random":
		return random{}
	}
	return roundRobin{}
}

// tryInOrder reserves a slot on the first server of candidates, starting
// at index start and wrapping, that is not avoid and not full. avoid is
// taken only if nothing else can be.
func tryInOrder(candidates []*Server, start int, avoid *Server) *Server {
	n := len(candidates)
	if n == 0 {
		return nil
	}
	sawAvoid := false
	for i := range n {
		s := candidates[(start+i)%n]
		if s == avoid {
			sawAvoid = true
			continue
		}
		if s.tryAcquire() {
			return s
		}
	}
	if sawAvoid && avoid.tryAcquire() {
		return avoid
	}
	return nil
}

// roundRobin is HAProxy's default: smooth weighted round robin whose
// weights follow runtime changes at once. The cycle is precomputed in the
// snapshot, so a pick is one atomic add and an index.
type roundRobin struct{}

func (roundRobin) pick(b *Backend, set *serverSet, _ netip.Addr, avoid *Server) *Server {
	if len(set.seq) == 0 {
		return nil
	}
	i := int(b.rrNext.Add(1)-1) % len(set.seq)
	return tryInOrder(set.seq, i, avoid)
}

func (roundRobin) static() bool { return false }

// staticRR is roundrobin over the configured weights.
type staticRR struct{ roundRobin }

func (staticRR) static() bool { return true }

// leastConn picks the server with the fewest current connections relative
// to its weight; ties rotate so that idle servers share new connections.
type leastConn struct{}

func (leastConn) pick(b *Backend, set *serverSet, _ netip.Addr, avoid *Server) *Server {
	n := len(set.servers)
	if n == 0 {
		return nil
	}
	start := int(b.rrNext.Add(1)-1) % n
	tried := 0
	var skip []*Server
	for tried < n {
		var best *Server
		var bestCur int64
		var bestW int
		for i := range n {
			j := (start + i) % n
			s, w := set.servers[j], set.weights[j]
			if s == avoid || contains(skip, s) {
				continue
			}
			cur := s.cnt.Cur.Load()
			if m := s.maxconn.Load(); m > 0 && cur >= m {
				continue
			}
			// (cur+1)/w < (bestCur+1)/bestW without division.
			if best == nil || (cur+1)*int64(bestW) < (bestCur+1)*int64(w) {
				best, bestCur, bestW = s, cur, w
			}
		}
		if best == nil {
			break
		}
		if best.tryAcquire() {
			return best
		}
		skip = append(skip, best) // filled up meanwhile
		tried++
	}
	if avoid != nil && contains(set.servers, avoid) && avoid.tryAcquire() {
		return avoid
	}
	return nil
}

func (leastConn) static() bool { return false }

func contains(list []*Server, s *Server) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// first sends every connection to the server with the lowest id that has
// a free slot, so that the others can be switched off when idle.
type first struct{}

func (first) pick(_ *Backend, set *serverSet, _ netip.Addr, avoid *Server) *Server {
	return tryInOrder(set.byID, 0, avoid)
}

func (first) static() bool { return false }

// source hashes the client's address onto the weighted map of servers, so
// that a client keeps reaching the same server while the set is stable.
type source struct{}

func (source) pick(_ *Backend, set *serverSet, client netip.Addr, avoid *Server) *Server {
	if set.totalWeight == 0 {
		return nil
	}
	h := fnv.New64a()
	b := client.Unmap().AsSlice()
	h.Write(b)
	slot := int(h.Sum64() % uint64(set.totalWeight))
	s := set.servers[sort.SearchInts(set.cum, slot+1)]
	if s != avoid {
		if s.tryAcquire() {
			return s
		}
		return nil // wait for this server: the hash decides, not the load
	}
	return tryInOrder(set.servers, 0, avoid)
}

// static: like HAProxy's default map-based hashing, source takes only
// 0% and 100% weights at runtime and no added servers, so that a change
// never remaps clients it did not have to.
func (source) static() bool { return true }

// random draws servers at random in proportion to their weights and keeps
// the least loaded of the draws: HAProxy's `random(2)` by default, the
// "power of two choices".
type random struct{}

func (random) pick(b *Backend, set *serverSet, _ netip.Addr, avoid *Server) *Server {
	if set.totalWeight == 0 {
		return nil
	}
	var best *Server
	var bestCur int64
	for range b.draws {
		slot := rand.IntN(set.totalWeight)
		s := set.servers[sort.SearchInts(set.cum, slot+1)]
		if s == avoid {
			continue
		}
		cur := s.cnt.Cur.Load()
		if m := s.maxconn.Load(); m > 0 && cur >= m {
			continue
		}
		if best == nil || cur < bestCur {
			best, bestCur = s, cur
		}
	}
	if best != nil && best.tryAcquire() {
		return best
	}
	// Every draw was full or avoided: take any server with room.
	return tryInOrder(set.servers, rand.IntN(len(set.servers)), avoid)
}

func (random) static() bool { return false }

// smoothSequence returns one full cycle of smooth weighted round robin:
// each server appears weight/gcd times, spread evenly. Server i's k-th
// turn falls at virtual time (2k+1)/(2w): earliest first, ties in
// configuration order. It runs on publish, never on a pick, and uses a
// heap so that a cycle over many servers costs O(W log n).
func smoothSequence(servers []*Server, weights []int) []*Server {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	if g == 0 {
		return nil
	}
	h := make(swrrHeap, 0, len(servers))
	total := 0
	for i, s := range servers {
		if w := weights[i] / g; w > 0 {
			h = append(h, &swrrItem{s: s, w: w, order: i})
			total += w
		}
	}
	heap.Init(&h)
	seq := make([]*Server, 0, total)
	for range total {
		it := h[0]
		seq = append(seq, it.s)
		it.k++
		heap.Fix(&h, 0)
	}
	return seq
}

// swrrItem is a server in the cycle being built: its weight and how many
// turns it has had.
type swrrItem struct {
	s     *Server
	w, k  int
	order int
}

type swrrHeap []*swrrItem

func (h swrrHeap) Len() int { return len(h) }

// Less compares next turns (2k+1)/w without division.
func (h swrrHeap) Less(i, j int) bool {
	a := (2*h[i].k + 1) * h[j].w
	b := (2*h[j].k + 1) * h[i].w
	if a != b {
		return a < b
	}
	return h[i].order < h[j].order
}
func (h swrrHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *swrrHeap) Push(x any)   { *h = append(*h, x.(*swrrItem)) }
func (h *swrrHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
