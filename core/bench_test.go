package core

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"pivot/core/config"
)

// benchBackend builds a backend of n servers without starting anything.
func benchBackend(b *testing.B, algo string, n int) *Backend {
	b.Helper()
	px := &config.Proxy{Kind: config.KindBackend, Name: "be", ID: 2, Balance: config.Balance{Algo: algo, Draws: 2}}
	for i := range n {
		px.Servers = append(px.Servers, &config.Server{
			Name: fmt.Sprintf("s%d", i), ID: i + 1, Host: "127.0.0.1", Port: 10000 + i,
			Weight: 1 + i%4, Rise: 2, Fall: 3, Inter: time.Second,
		})
	}
	c := &Core{}
	c.topo.Store(&topology{cfg: &config.Config{}})
	be, err := newBackend(c, px, nil)
	if err != nil {
		b.Fatal(err)
	}
	return be
}

// BenchmarkPick measures one pick and its release: the hot path's share
// of the backend. It must not allocate.
func BenchmarkPick(b *testing.B) {
	client := netip.MustParseAddr("127.0.0.1")
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first", "source", "random"} {
		for _, n := range []int{3, 100} {
			b.Run(fmt.Sprintf("%s/%d", algo, n), func(b *testing.B) {
				be := benchBackend(b, algo, n)
				b.ReportAllocs()
				for b.Loop() {
					s := be.algo.pick(be, be.set.Load(), client, nil)
					s.cnt.Cur.Add(-1)
				}
			})
		}
	}
}

// BenchmarkPublish measures rebuilding the snapshot after a change.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			be := benchBackend(b, "roundrobin", n)
			b.ReportAllocs()
			for b.Loop() {
				be.mu.Lock()
				be.publishLocked(time.Now())
				be.mu.Unlock()
			}
		})
	}
}

// BenchmarkCounters measures what every new session costs the counters
// of its frontend, backend and server, from many goroutines at once.
func BenchmarkCounters(b *testing.B) {
	var fe, be, srv Counters
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := time.Now()
		for pb.Next() {
			fe.startSession(now)
			be.startSession(now)
			srv.startSession(now)
		}
	})
}
