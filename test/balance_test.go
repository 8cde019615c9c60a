package test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Where connections land, for each balancing algorithm. Counts are exact
// wherever the algorithm is deterministic.

// threeServers starts backends s1, s2, s3 and returns them with the vars
// $fe (a free frontend address), $s1, $s2, $s3.
func threeServers(t *testing.T) ([]*backend, vars) {
	t.Helper()
	bs := []*backend{startBackend(t, "s1"), startBackend(t, "s2"), startBackend(t, "s3")}
	return bs, vars{"fe": freeAddr(t), "s1": bs[0].Addr, "s2": bs[1].Addr, "s3": bs[2].Addr}
}

// startBalanced starts s1, s2, s3 and pivotd with baseDefaults and
//
//	listen app
//	    bind $fe
//	    BODY
//
// where body holds the balance and server lines under test, written with
// $s1, $s2, $s3 and the names of extra. It returns the backends and $fe.
func startBalanced(t *testing.T, body string, extra vars) ([]*backend, string) {
	t.Helper()
	bs, v := threeServers(t)
	for k, x := range extra {
		v[k] = x
	}
	startPivot(t, baseDefaults+"\nlisten app\n    bind $fe"+body, v)
	return bs, v["fe"]
}

func TestBalanceWeightedRoundRobin(t *testing.T) {
	t.Parallel()
	for _, algo := range []string{"roundrobin", "static-rr"} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			_, fe := startBalanced(t, `
    balance $algo
    server s1 $s1 weight 1
    server s2 $s2 weight 2
    server s3 $s3 weight 3
`, vars{"algo": algo})
			seq := sequence(t, fe, 60)
			got := tally(seq)
			want := map[string]int{"s1": 10, "s2": 20, "s3": 30}
			for name, n := range want {
				if got[name] != n {
					t.Errorf("%s got %d of 60 connections; want %d (all: %v)", name, got[name], n, got)
				}
			}
			// Smooth: every window of 6 is one full cycle (1+2+3), and the
			// heaviest server never answers 3 times in a row.
			for i := 0; i+6 <= len(seq); i++ {
				w := tally(seq[i : i+6])
				if w["s1"] != 1 || w["s2"] != 2 || w["s3"] != 3 {
					t.Errorf("connections %d..%d went to %v; want 1 s1, 2 s2, 3 s3 in every 6 (sequence %q)", i+1, i+6, w, seq)
					break
				}
			}
			if run, who := longestRun(seq); run >= 3 {
				t.Errorf("%s answered %d connections in a row; want a smooth spread (sequence %q)", who, run, seq)
			}
		})
	}
}

func TestBalanceRoundRobinEqualWeights(t *testing.T) {
	t.Parallel()
	_, fe := startBalanced(t, `
    server s1 $s1
    server s2 $s2
    server s3 $s3
`, nil)
	seq := sequence(t, fe, 30)
	for i := 0; i+3 <= len(seq); i++ {
		w := slices.Clone(seq[i : i+3])
		slices.Sort(w)
		if !slices.Equal(w, []string{"s1", "s2", "s3"}) {
			t.Fatalf("connections %d..%d went to %q; want each server once in every 3 (sequence %q)", i+1, i+3, seq[i:i+3], seq)
		}
	}
	if run, who := longestRun(seq); run >= 2 {
		t.Errorf("%s answered %d connections in a row; want strict rotation", who, run)
	}
}

// longestRun returns the longest run of one server in seq, wrapping
// around from the end to the start is not counted.
func longestRun(seq []string) (int, string) {
	best, who, run := 0, "", 0
	for i := range seq {
		if i > 0 && seq[i] == seq[i-1] {
			run++
		} else {
			run = 1
		}
		if run > best {
			best, who = run, seq[i]
		}
	}
	return best, who
}

func TestBalanceWeightZero(t *testing.T) {
	t.Parallel()
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "random", "source", "first"} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			_, fe := startBalanced(t, `
    balance $algo
    server s1 $s1 weight 0
    server s2 $s2
    server s3 $s3 weight 0
`, vars{"algo": algo})
			got := tally(sequence(t, fe, 12))
			if got["s2"] != 12 {
				t.Errorf("got %v; want all 12 connections on s2 (s1 and s3 have weight 0)", got)
			}
		})
	}
}

func TestBalanceLeastconn(t *testing.T) {
	t.Parallel()
	bs, fe := startBalanced(t, `
    balance leastconn
    server s1 $s1
    server s2 $s2
    server s3 $s3
`, nil)
	h := newHolder(t, fe)
	// Two rounds of held connections: each round spreads over all three.
	for round := 1; round <= 2; round++ {
		if names := h.holdSorted(3); !slices.Equal(names, []string{"s1", "s2", "s3"}) {
			t.Fatalf("round %d of held connections went to %q; want one on each server", round, names)
		}
	}
	// Free one slot on each server in turn: the next connection must go to
	// the server that has fewest (1 against 2).
	for i, b := range bs {
		h.release(b.Name)
		waitActive(t, b, 1)
		if got := h.hold(); got != b.Name {
			t.Errorf("step %d: new connection went to %s; want %s, the least loaded (loads s1=%d s2=%d s3=%d)",
				i+1, got, b.Name, bs[0].Active(), bs[1].Active(), bs[2].Active())
		}
	}
	// Empty s2 completely: the next two connections both go to s2.
	h.releaseAll("s2")
	waitActive(t, bs[1], 0)
	for i := range 2 {
		if got := h.hold(); got != "s2" {
			t.Errorf("connection %d after emptying s2 went to %s; want s2 (0 or 1 connections against 2)", i+1, got)
		}
	}
}

func TestBalanceFirst(t *testing.T) {
	t.Parallel()
	// Ids out of configuration order: "first" follows the ids.
	bs, fe := startBalanced(t, `
    balance first
    server s1 $s1 id 3 maxconn 2
    server s2 $s2 id 1 maxconn 2
    server s3 $s3 id 2 maxconn 2
`, nil)
	t.Run("sequential", func(t *testing.T) {
		// Each connection ends before the next starts, so s2 never
		// holds more than one.
		got := map[string]int{}
		for range 10 {
			got[who(t, fe)]++
			waitActive(t, bs[1], 0)
		}
		if got["s2"] != 10 {
			t.Errorf("got %v; want all 10 sequential connections on s2 (lowest id, never full)", got)
		}
	})
	t.Run("fills in id order", func(t *testing.T) {
		var got []string
		for range 6 {
			got = append(got, dial(t, fe).greeting())
		}
		want := []string{"s2", "s2", "s3", "s3", "s1", "s1"}
		if !slices.Equal(got, want) {
			t.Errorf("held connections went to %q; want %q", got, want)
		}
	})
}

func TestBalanceSource(t *testing.T) {
	t.Parallel()
	_, fe := startBalanced(t, `
    balance source
    server s1 $s1
    server s2 $s2
    server s3 $s3
`, nil)
	used := map[string]bool{}
	for i := 2; i <= 20; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		var seen []string
		for range 5 {
			name, err := tryWhoFrom(ip, fe)
			if err != nil {
				t.Fatalf("from %s: %v", ip, err)
			}
			seen = append(seen, name)
		}
		if got := tally(seen); len(got) != 1 {
			t.Errorf("client %s reached %v; want the same server every time", ip, got)
		}
		used[seen[0]] = true
	}
	if len(used) < 2 {
		t.Errorf("19 client addresses all reached %v; want the hash to spread them", used)
	}
}

func TestBalanceRandom(t *testing.T) {
	t.Parallel()
	_, fe := startBalanced(t, `
    balance random
    server s1 $s1 weight 1
    server s2 $s2 weight 1
    server s3 $s3 weight 4
`, nil)
	got := tally(sequence(t, fe, 300))
	for _, s := range []string{"s1", "s2", "s3"} {
		if got[s] < 15 {
			t.Errorf("%s got %d of 300; want every server used (all: %v)", s, got[s], got)
		}
	}
	if got["s3"] <= got["s1"]+got["s2"] {
		t.Errorf("s3 (weight 4 of 6) got %d; want more than s1+s2 (%d) (all: %v)", got["s3"], got["s1"]+got["s2"], got)
	}
}

func TestBalanceBackup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc       string
		allbackups bool
		want       map[string]int // of 12 connections once the actives are down
	}{
		{desc: "first backup only", want: map[string]int{"b1": 12}},
		{desc: "option allbackups", allbackups: true, want: map[string]int{"b1": 6, "b2": 6}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s1, s2 := startBackend(t, "s1"), startBackend(t, "s2")
			b1, b2 := startBackend(t, "b1"), startBackend(t, "b2")
			opt := ""
			if tc.allbackups {
				opt = "option allbackups"
			}
			v := vars{"fe": freeAddr(t), "s1": s1.Addr, "s2": s2.Addr, "b1": b1.Addr, "b2": b2.Addr, "opt": opt}
			p := startPivot(t, baseDefaults+`
listen app
    bind $fe
    timeout connect 200ms
    $opt
    server s1 $s1 check inter 100ms fall 1 rise 1
    server s2 $s2 check inter 100ms fall 1 rise 1
    server b1 $b1 backup
    server b2 $b2 backup
`, v)
			if got := tally(sequence(t, v["fe"], 12)); got["s1"] != 6 || got["s2"] != 6 {
				t.Fatalf("with the actives up got %v; want 6 on s1 and 6 on s2, none on backups", got)
			}
			s1.Stop()
			// One active left: still no backup.
			waitLine(t, p.Stderr, 5*time.Second, `Server app/s1 is DOWN`)
			if got := tally(sequence(t, v["fe"], 6)); got["s2"] != 6 {
				t.Fatalf("with s1 down got %v; want all 6 on s2", got)
			}
			s2.Stop()
			waitLine(t, p.Stderr, 5*time.Second, `Server app/s2 is DOWN`)
			got := tally(sequence(t, v["fe"], 12))
			if !mapsEqual(got, tc.want) {
				t.Errorf("with both actives down got %v; want %v", got, tc.want)
			}
			// An active coming back takes everything again.
			s1.Start()
			waitLine(t, p.Stderr, 5*time.Second, `Server app/s1 is UP`)
			if got := tally(sequence(t, v["fe"], 6)); got["s1"] != 6 {
				t.Errorf("with s1 back got %v; want all 6 on s1", got)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
