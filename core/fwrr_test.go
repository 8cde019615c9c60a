package core

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// The sequences below are what HAProxy 2.6.12 answered to the same
// configuration and the same runtime changes (sequential connections from
// one client), recorded with haproxy, socat and a client printing each
// server's greeting.
const lbOrderCfg = `
backend b1
    balance roundrobin
    server s1 127.0.0.1:1 weight 1
    server s2 127.0.0.1:2 weight 2
    server s3 127.0.0.1:3 weight 3
    server s4 127.0.0.1:4 weight 5 backup

backend b2
    balance static-rr
    server s1 127.0.0.1:1 weight 2
    server s2 127.0.0.1:2 weight 4
    server s3 127.0.0.1:3 weight 6
`

func TestPickOrderMatchesHAProxy(t *testing.T) {
	t.Parallel()
	c := startCore(t, lbOrderCfg)
	picks := func(backend string, n int) string {
		b, err := c.Backend(backend)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for range n {
			s, _, err := b.assign(context.Background(), netip.MustParseAddr("127.0.0.1"), nil)
			if err != nil {
				t.Fatalf("%s: %v", backend, err)
			}
			names = append(names, s.Name())
			s.release()
		}
		return strings.Join(names, " ")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	state := func(be, srv string, st AdminState) func() {
		return func() { must(c.SetServerState(be, srv, st)) }
	}
	steps := []struct {
		desc    string
		change  func()
		backend string
		n       int
		want    string
	}{
		{"roundrobin 1:2:3", nil, "b1", 12, "s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2"},
		{"static-rr 2:4:6", nil, "b2", 12, "s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s2 s3"},
		{"s3 weight 1", func() { must(c.SetServerWeight("b1", "s3", 1, false)) }, "b1", 8, "s2 s2 s1 s3 s2 s2 s1 s3"},
		{"s1 maint", state("b1", "s1", StateMaint), "b1", 6, "s2 s2 s2 s3 s2 s2"},
		{"s1 ready", state("b1", "s1", StateReady), "b1", 8, "s3 s2 s1 s2 s3 s1 s2 s2"},
		{"s2 weight 10", func() { must(c.SetServerWeight("b1", "s2", 10, false)) }, "b1", 14, "s2 s3 s2 s1 s2 s2 s2 s2 s2 s2 s2 s2 s2 s3"},
		{"every active in maint", func() {
			for _, s := range []string{"s1", "s2", "s3"} {
				must(c.SetServerState("b1", s, StateMaint))
			}
		}, "b1", 3, "s4 s4 s4"},
		{"s2 and s3 ready", func() {
			must(c.SetServerState("b1", "s2", StateReady))
			must(c.SetServerState("b1", "s3", StateReady))
		}, "b1", 8, "s2 s2 s2 s2 s2 s2 s2 s2"},
		{"static-rr s2 maint", state("b2", "s2", StateMaint), "b2", 5, "s1 s3 s3 s3 s1"},
		{"static-rr s2 ready", state("b2", "s2", StateReady), "b2", 7, "s3 s2 s3 s2 s3 s1 s3"},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		if got := picks(st.backend, st.n); got != st.want {
			t.Errorf("%s: %s; HAProxy: %s", st.desc, got, st.want)
		}
	}
}

func TestBuildMap(t *testing.T) {
	mk := func(n int) []*Server {
		list := make([]*Server, n)
		for i := range list {
			list[i] = &Server{name: "s" + string(rune('1'+i))}
		}
		return list
	}
	tests := []struct {
		weights []int
		want    string
	}{
		{[]int{1, 1, 1}, "s1 s2 s3"},
		{[]int{1, 2, 3}, "s1 s3 s2 s3 s2 s3"},
		{[]int{0, 1}, "s2"},
		{[]int{0, 0}, ""},
	}
	for _, tt := range tests {
		var names []string
		for _, s := range buildMap(mk(len(tt.weights)), tt.weights) {
			names = append(names, s.name)
		}
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("weights %v: map %q; want %q", tt.weights, got, tt.want)
		}
	}
}
