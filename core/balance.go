package core

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sort"
	"sync"
)

// serverSet is what a pick reads. It never changes once published; every
// runtime change builds a new one (Backend.publishLocked).
type serverSet struct {
	// servers are the ones taking traffic now, in configuration order:
	// the usable active servers or, when there is none, the usable backups
	// (all of them with `option allbackups`, else the first).
	servers []*Server
	weights []int // effective weight of servers[i]
	// table is HAProxy's server map, for static-rr and source.
	table []*Server
	// cum holds cumulative weights for weighted random draws.
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
	// algo picks from this set, and draws is random's N: both are
	// published with it, so that a reload can change them under picks.
	algo  algorithm
	draws int
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
		return &staticRR{}
	case "leastconn":
		return leastConn{}
	case "first":
		return first{}
	case "source":
		return source{}
	case "random":
		return random{}
	}
	return &fwrr{}
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

// staticRR walks HAProxy's server map (see buildMap) in a circle, passing
// over full servers. The position survives changes, as HAProxy's rr_idx
// does.
type staticRR struct {
	mu  sync.Mutex
	idx int // guarded by mu
}

func (r *staticRR) pick(_ *Backend, set *serverSet, _ netip.Addr, avoid *Server) *Server {
	table := set.table
	if len(table) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idx >= len(table) {
		r.idx = 0
	}
	i := r.idx
	var avoided *Server
	avoidedAt := 0
	for {
		s := table[i]
		i++
		if !full(s) {
			avoided, avoidedAt = s, i
			if s != avoid {
				r.idx = i
				break
			}
		}
		if i == len(table) {
			i = 0
		}
		if i == r.idx {
			r.idx = avoidedAt
			break
		}
	}
	if avoided == nil || !avoided.tryAcquire() {
		return nil
	}
	return avoided
}

func (*staticRR) static() bool { return true }

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

// source hashes the client's address onto the server map, so that a
// client keeps reaching the same server while the set is stable.
type source struct{}

func (source) pick(_ *Backend, set *serverSet, client netip.Addr, avoid *Server) *Server {
	if len(set.table) == 0 {
		return nil
	}
	s := set.table[sourceHash(client, len(set.servers))%uint32(len(set.table))]
	if s != avoid {
		if s.tryAcquire() {
			return s
		}
		return nil // wait for this server: the hash decides, not the load
	}
	return tryInOrder(set.servers, 0, avoid)
}

// sourceHash is HAProxy's map-based source hash: the address's 32-bit
// words XORed together, so that a client lands where it would with
// HAProxy. With one server there is nothing to hash.
func sourceHash(client netip.Addr, servers int) uint32 {
	if servers == 1 {
		return 0
	}
	var h uint32
	b := client.Unmap().AsSlice()
	for i := 0; i+4 <= len(b); i += 4 {
		h ^= binary.BigEndian.Uint32(b[i:])
	}
	return h
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
	for range set.draws {
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

// buildMap is HAProxy's server map for static-rr and source: one entry
// per unit of weight, each server's entries spread evenly, the first
// declared server first. weights are the servers' weights divided by the
// backend's weight gcd.
func buildMap(servers []*Server, weights []int) []*Server {
	total := 0
	for _, w := range weights {
		total += w
	}
	if total == 0 {
		return nil
	}
	table := make([]*Server, total)
	if total == 1 {
		for i, w := range weights {
			if w > 0 {
				table[0] = servers[i]
			}
		}
		return table
	}
	score := make([]int, len(servers))
	for o := range table {
		best, bestV := -1, 0
		for i, w := range weights {
			if w == 0 {
				continue
			}
			score[i] += w
			if v := (score[i] + total) / total; best < 0 || v > bestV {
				best, bestV = i, v
			}
		}
		table[o] = servers[best]
		score[best] -= total
	}
	return table
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
