package test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// compatServersCfg has a server in every state show stat can show once
// checks settle: UP (checked), no check, DOWN (dead address, fast
// checks), backup, MAINT (disabled), maxconn/maxqueue; a static-rr
// listen, and an empty backend. HAProxy spreads the first checks over the
// inter (2s): startCompatServers waits for them. Forced health states are
// tried on servers whose checks are off, so that no check undoes them.
const compatServersCfg = compatGlobal + `
frontend fe_app
    bind $FE1
    default_backend be_app

backend be_app
    balance roundrobin
    server up1 $s1 check inter 2s rise 2 fall 2
    server up2 $s2 check inter 2s rise 2 fall 2 weight 20
    server nochk $s3 maxconn 5 maxqueue 3
    server down $dead check inter 2s rise 2 fall 2
    server bk $s4 check inter 2s backup
    server mnt $s5 disabled
    server drn $s6 check inter 2s

listen li_static
    bind $FE2
    balance static-rr
    server t1 $s1
    server t2 $s2 weight 3

backend be_empty
`

// addBackends starts backends s<from> … s<to>, greeting with their names,
// and records their addresses in v.
func addBackends(t *testing.T, v vars, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		name := fmt.Sprintf("s%d", i)
		v[name] = startBackend(t, name).Addr
	}
}

func startCompatServers(t *testing.T) *compatPair {
	t.Helper()
	v := vars{"dead": deadAddr(t)}
	addBackends(t, v, 1, 6)
	p := startCompat(t, compatServersCfg, v)
	p.settle(t)
	return p
}

func TestCompatShowStat(t *testing.T) {
	t.Parallel()
	p := startCompatServers(t)
	p.run(t, []compatStep{
		{cmd: "set server be_app/drn state drain"},
		{cmd: "show stat"},
		{cmd: "show stat -1 -1 -1"},
		{cmd: "show stat up"},
		{cmd: "show stat no-maint"},
		{cmd: "show stat be_app -1 -1"},
		{cmd: "show stat 3 4 -1"},
		{cmd: "show stat 3 4 2"},
		{cmd: "show stat 3 2 -1"},
		{cmd: "show stat -1 1 -1"},
		{cmd: "show stat li_static -1 -1"},
		{cmd: "show stat be_empty -1 -1"},
		{cmd: "show stat 99 -1 -1"},
		{cmd: "show stat nosuch -1 -1"},
		{cmd: "show stat 0 -1 -1"},
		{cmd: "show stat be_app"},
		{cmd: "show stat be_app -1"},
		{cmd: "show stat domain proxy"},
		{cmd: "show stat domain dns"},
		{cmd: "show stat typed"},
		{cmd: "show stat be_app 4 -1 typed"},
		{cmd: "show stat json"},
		{cmd: "show stat be_app 4 1 json"},
		{cmd: "show stat typed desc", first: true},
		{cmd: "show schema json"},
		{cmd: "show stat up no-maint"},
		{cmd: "show servers state"},
		{cmd: "show servers state be_app"},
		{cmd: "show servers state li_static"},
		{cmd: "show servers state be_empty"},
		{cmd: "show servers state nosuch"},
		{cmd: "show servers state #3"},
		{cmd: "show servers conn"},
		{cmd: "show servers conn be_app"},
		{cmd: "show servers conn nosuch"},
		{cmd: "show backend"},
		{cmd: "get weight be_app/up1"},
		{cmd: "get weight be_app/up2"},
		{cmd: "get weight be_app/mnt"},
		{cmd: "get weight #3/#2"},
		{cmd: "get weight be_app/nosuch"},
		{cmd: "get weight nosuch/up1"},
		{cmd: "get weight be_app"},
		{cmd: "get weight /up1"},
		{cmd: "get weight be_app/"},
		{cmd: "get weight"},
		{cmd: "get weight fe_app/up1"},
		{cmd: "show env NOSUCH"},
		{cmd: "show errors"},
		{cmd: "show errors be_app"},
		{cmd: "show errors nosuch"},
		{cmd: "show errors be_app request"},
		{desc: "show info field names", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			var names []string
			for _, l := range strings.Split(send(t, d.Sock("admin"), "show info"), "\n") {
				n, _, _ := strings.Cut(l, ":")
				names = append(names, n)
			}
			return strings.Join(names, "\n")
		}},
		trafficStep("FE1", 12),
		trafficStep("FE2", 8),
		{cmd: "show stat"},
	})
}

func TestCompatServerState(t *testing.T) {
	t.Parallel()
	p := startCompatServers(t)
	// Each change is compared once checks have settled: a server leaving
	// maintenance is "UP 1/2" until its next check, which falls anywhere
	// in its interval in either daemon.
	states := func(srv string) []compatStep {
		return []compatStep{
			settleStep(),
			{cmd: "show stat be_app 4 -1"},
			{cmd: "show servers state be_app"},
			trafficStep("FE1", 8),
		}
	}
	var steps []compatStep
	add := func(s ...compatStep) { steps = append(steps, s...) }
	add(trafficStep("FE1", 8))
	for _, c := range []string{
		"set server be_app/up1 state drain",
		"set server be_app/up1 state maint",
		"set server be_app/up1 state ready",
		"set server be_app/mnt state ready",
		"set server be_app/down state maint",
		"set server be_app/down state ready",
		"set server be_app/nochk state maint",
		"disable server be_app/up2",
		"enable server be_app/up2",
		"enable server be_app/nochk",
		"disable health be_app/up2",
		"set server be_app/up2 health down",
		"set server be_app/up2 health stopping",
		"set server be_app/up2 health up",
		"set server be_app/nochk health down",
		"set server be_app/nochk health up",
		"disable health be_app/up1",
		"enable health be_app/up1",
	} {
		add(compatStep{cmd: c})
		add(states(c)...)
	}
	add(settleStep())
	for _, c := range []string{
		"set server be_app/up1 state",
		"set server be_app/up1 state foo",
		"set server be_app/up1 health",
		"set server be_app/up1 health foo",
		"set server be_app/up1 agent up",
		"set server be_app/up1 agent foo",
		"set server be_app/up1 agent",
		"set server be_app/up1 agent-addr 127.0.0.1",
		"set server be_app/up1 agent-port 1",
		"set server be_app/up1 agent-send foo",
		"set server be_app/up1 fqdn foo.example",
		"set server be_app/up1 foo",
		"set server be_app/up1",
		"set server be_app/nosuch state ready",
		"set server nosuch/up1 state ready",
		"set server be_app state ready",
		"set server fe_app/up1 state ready",
		"enable health be_app/nochk",
		"disable health be_app/nochk",
		"enable agent be_app/up1",
		"disable agent be_app/up1",
		"enable agent be_app/nosuch",
		"disable server be_app",
		"enable server nosuch/x",
		"set server be_app/up1 check-port 7000",
		"set server be_app/up1 check-port",
		"set server be_app/up1 check-port abc",
		"set server be_app/up1 check-port 70000",
		"set server be_app/up1 check-addr 127.0.0.1",
		"set server be_app/up1 check-addr",
		"set server be_app/up1 check-addr nonsense",
		"set server be_app/up1 check-addr 127.0.0.1 port 7001",
		"set server be_app/nochk check-port 7000",
		"set server be_app/nochk check-addr 127.0.0.1",
		"show servers state be_app",
	} {
		add(compatStep{cmd: c})
	}
	p.run(t, steps)
}

func TestCompatServerAddr(t *testing.T) {
	t.Parallel()
	s1, s2, s3 := startBackend(t, "s1"), startBackend(t, "s2"), startBackend(t, "s3")
	p := startCompat(t, compatGlobal+`
frontend fe_app
    bind $FE1
    default_backend be_app

backend be_app
    server a1 $s1
    server a2 $s2
`, vars{"s1": s1.Addr, "s2": s2.Addr})
	steps := []compatStep{trafficStep("FE1", 4)}
	for _, c := range []string{
		"set server be_app/a1 addr 127.0.0.1",
		"set server be_app/a1 addr 127.0.0.1 port " + s1.Port(),
		"set server be_app/a1 addr 127.0.0.2",
		"set server be_app/a1 addr 127.0.0.1 port " + s3.Port(),
		"set server be_app/a1 addr ::1;set server be_app/a1 addr 127.0.0.1",
		"set server be_app/a1 addr",
		"set server be_app/a1 addr nonsense",
		"set server be_app/a1 addr 127.0.0.1 port abc",
		"set server be_app/a1 addr 127.0.0.1 port",
		"set server be_app/a1 addr 127.0.0.1 port +1",
	} {
		steps = append(steps, compatStep{cmd: c}, compatStep{cmd: "show servers state be_app"})
		if !strings.Contains(c, "127.0.0.2") {
			steps = append(steps, trafficStep("FE1", 4))
		}
	}
	p.run(t, steps)
}

func TestCompatWeight(t *testing.T) {
	t.Parallel()
	p := startCompatServers(t)
	var steps []compatStep
	for _, c := range []string{
		"set weight be_app/up1 10",
		"set server be_app/up1 weight 5",
		"set server be_app/up2 weight 50%",
		"set server be_app/up1 weight 50%",
		"set weight be_app/up2 257%",
		"set weight be_app/up2 1000%",
		"set weight be_app/up2 256",
		"set weight be_app/up2 257",
		"set weight be_app/up2 -1",
		"set weight be_app/up2 -5%",
		"set weight be_app/up2 abc",
		"set weight be_app/up2 10x",
		"set weight be_app/up2 %",
		"set weight be_app/up2",
		"set server be_app/up2 weight",
		"set weight be_app/up2 10 20",
		"set weight be_app/up2 0",
		"set weight be_app/up2 100%",
		"set weight be_app/nosuch 1",
		"set weight nosuch/up1 1",
		"set weight be_app 1",
		"set weight li_static/t1 0",
		"set weight li_static/t1 0%",
		"set weight li_static/t1 2",
		"set weight li_static/t1 100%",
		"set weight li_static/t2 50%",
		"set weight li_static/t2 3",
		"set weight #3/#1 7",
	} {
		steps = append(steps,
			compatStep{cmd: c},
			compatStep{desc: "get weights after " + c, cmd: "get weight be_app/up1;get weight be_app/up2;get weight li_static/t1;get weight li_static/t2"},
		)
	}
	steps = append(steps,
		compatStep{cmd: "show stat be_app 4 -1"},
		compatStep{cmd: "show stat li_static -1 -1"},
		compatStep{cmd: "show servers state"},
		trafficStep("FE1", 16),
		trafficStep("FE2", 8),
		compatStep{cmd: "set weight be_app/up1 0"},
		trafficStep("FE1", 8),
		compatStep{cmd: "show stat be_app 4 -1"},
	)
	p.run(t, steps)
}

func TestCompatMaxconn(t *testing.T) {
	t.Parallel()
	p := startCompatServers(t)
	var steps []compatStep
	for _, c := range []string{
		"set maxconn server be_app/up1 10",
		"set maxconn server be_app/up1 0",
		"set maxconn server be_app/up1",
		"set maxconn server be_app/up1 abc",
		"set maxconn server be_app/up1 10x",
		"set maxconn server be_app/nosuch 1",
		"set maxconn server be_app 1",
		"set maxconn server be_app/nochk 7",
		"set maxconn frontend fe_app 100",
		"set maxconn frontend fe_app",
		"set maxconn frontend fe_app -1",
		"set maxconn frontend nosuch 10",
		"set maxconn frontend be_app 10",
		"set maxconn frontend #2 50",
		"set maxconn frontend",
		"set maxconn global 1000",
		"set maxconn global",
		"set maxconn global -1",
		"set maxconn global 99999999",
		"set rate-limit connections global 10",
		"set rate-limit connections global 0",
		"set rate-limit connections global",
		"set rate-limit connections global -1",
		"set rate-limit sessions global 10",
		"set rate-limit foo global 1",
		"set rate-limit",
		"set timeout cli 5",
		"set timeout cli 0",
		"set timeout cli",
		"set timeout foo 5",
	} {
		steps = append(steps, compatStep{cmd: c})
	}
	steps = append(steps,
		compatStep{cmd: "set maxconn foo 1", first: true},
		compatStep{desc: "slim and qlimit columns", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			return compatColumns(send(t, d.Sock("admin"), "show stat"), "pxname", "svname", "slim", "qlimit", "rate_lim")
		}},
		compatStep{cmd: "show stat"},
		compatStep{desc: "show info limits", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			var out []string
			for _, l := range strings.Split(send(t, d.Sock("admin"), "show info"), "\n") {
				for _, k := range []string{"Maxconn:", "Maxpipes:", "ConnRateLimit:", "SessRateLimit:"} {
					if strings.HasPrefix(l, k) {
						out = append(out, l)
					}
				}
			}
			return strings.Join(out, "\n")
		}},
	)
	p.run(t, steps)
}

// compatColumns keeps only the named columns of a show stat answer.
func compatColumns(out string, names ...string) string {
	lines := strings.Split(out, "\n")
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	var idx []int
	for _, n := range names {
		for i, c := range cols {
			if c == n {
				idx = append(idx, i)
			}
		}
	}
	var b strings.Builder
	for _, l := range lines {
		if !strings.Contains(l, ",") {
			continue
		}
		c := strings.Split(strings.TrimPrefix(l, "# "), ",")
		for _, i := range idx {
			if i < len(c) {
				b.WriteString(c[i] + ",")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestCompatAddDel(t *testing.T) {
	t.Parallel()
	v := vars{}
	addBackends(t, v, 1, 4)
	p := startCompat(t, compatGlobal+`
frontend fe_app
    bind $FE1
    default_backend be_app

backend be_app
    balance roundrobin
    server a1 $s1
    server a2 $s2

backend be_src
    balance source
    server h1 $s1
`, v)
	held := map[*compatDaemon]*client{}
	steps := []compatStep{
		{cmd: "add server be_app/n1 " + v["s3"]},
		{cmd: "show servers state be_app"},
		{cmd: "show stat be_app 4 -1"},
		trafficStep("FE1", 6),
		{cmd: "set server be_app/n1 state ready"},
		{cmd: "show stat be_app 4 -1"},
		trafficStep("FE1", 6),
		{cmd: "add server be_app/n2 " + v["s4"] + " weight 3 maxconn 10 maxqueue 2 check inter 1s rise 3 fall 4"},
		{cmd: "show servers state be_app"},
		{cmd: "enable health be_app/n2"},
		{cmd: "set server be_app/n2 state ready"},
		settleStep(),
		{cmd: "show stat be_app 4 -1"},
		trafficStep("FE1", 12),
		{cmd: "add server be_app/n3 " + v["s4"] + " backup enabled"},
		{cmd: "show servers state be_app"},
		{cmd: "add server be_app/n4 " + v["s4"] + " disabled"},
		{cmd: "add server be_app/n5 " + v["s4"] + " id 42"},
		{cmd: "add server be_app/n6 " + v["s4"] + " track be_app/a1"},
		{cmd: "add server be_app/n7 " + v["s4"] + " track be_app/n1"},
		{cmd: "add server be_app/n8 127.0.0.1"},
		{cmd: "add server be_app/n10 notanaddr:x"},
		{cmd: "show servers state be_app"},
		{cmd: "add server be_app/a1 " + v["s4"]},
		{cmd: "add server nosuch/x " + v["s4"]},
		{cmd: "add server be_app " + v["s4"]},
		{cmd: "add server be_app/x"},
		{cmd: "add server be_app/x " + v["s4"] + " chek"},
		{cmd: "add server be_app/x " + v["s4"] + " cookie c"},
		{cmd: "add server be_app/x " + v["s4"] + " weight 300"},
		{cmd: "add server be_src/x " + v["s4"]},
		{cmd: "add server #3/x " + v["s4"]},
		{cmd: "add server fe_app/x " + v["s4"]},
		{cmd: "add server"},
		{cmd: "show servers state"},
		{cmd: "del server be_app/n1"},
		{cmd: "set server be_app/n1 state maint"},
		{cmd: "del server be_app/n1"},
		{cmd: "del server be_app/n1"},
		{cmd: "del server be_app"},
		{cmd: "del server nosuch/x"},
		{cmd: "del server be_app/nosuch"},
		{cmd: "del server"},
		{cmd: "del server be_app/a2"},
		{desc: "hold a session on a2", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			// Only a2 is up and ready: a1 and the n* are put aside.
			send(t, d.Sock("admin"), "set server be_app/a1 state maint;set server be_app/n2 state maint;set server be_app/n3 state maint;set server be_app/n5 state maint;set server be_app/n8 state maint")
			c := dial(t, d.FE["FE1"])
			held[d] = c
			return c.greeting() + "\n"
		}},
		{cmd: "show servers state be_app"},
		{cmd: "set server be_app/a2 state maint"},
		{cmd: "del server be_app/a2"},
		{cmd: "shutdown sessions server be_app/a2"},
		{desc: "held session sees EOF", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			held[d].expectEOF(3 * time.Second)
			return "EOF\n"
		}},
		{desc: "del a2 once its session is gone", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			var out string
			waitFor(t, 3*time.Second, func() error {
				out = send(t, d.Sock("admin"), "del server be_app/a2")
				if strings.Contains(out, "connections attached") {
					return fmt.Errorf("%s: %q", d.Name, out)
				}
				return nil
			})
			return out
		}},
		{cmd: "show servers state be_app"},
		{cmd: "show stat be_app 4 -1"},
		{cmd: "shutdown sessions server be_app/nosuch"},
		{cmd: "shutdown sessions server be_app"},
		{cmd: "shutdown session"},
		{cmd: "shutdown session 0"},
		{cmd: "shutdown session abc"},
		{cmd: "shutdown session 0x1234"},
		{cmd: "show sess 0x1234"},
	}
	p.run(t, steps)
}

func TestCompatFrontend(t *testing.T) {
	t.Parallel()
	p := startCompatServers(t)
	fe := func() compatStep {
		return compatStep{desc: "frontend status", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			return compatColumns(send(t, d.Sock("admin"), "show stat -1 1 -1"), "pxname", "svname", "status", "slim")
		}}
	}
	var steps []compatStep
	for _, c := range []string{
		"disable frontend fe_app",
		"disable frontend fe_app",
		"enable frontend fe_app",
		"enable frontend fe_app",
		"disable frontend li_static",
		"shutdown frontend li_static",
		"shutdown frontend li_static",
		"enable frontend li_static",
		"disable frontend li_static",
		"disable frontend nosuch",
		"disable frontend be_app",
		"disable frontend",
		"enable frontend",
		"shutdown frontend",
		"enable frontend #2",
	} {
		steps = append(steps, compatStep{cmd: c}, fe(), trafficStep("FE1", 2))
	}
	steps = append(steps, compatStep{cmd: "show stat"}, trafficStep("FE2", 2))
	p.run(t, steps)
}

func TestCompatClearCounters(t *testing.T) {
	t.Parallel()
	p := startCompatServers(t)
	p.run(t, []compatStep{
		trafficStep("FE1", 10),
		trafficStep("FE2", 4),
		idleStep(),
		{cmd: "show stat"},
		{cmd: "clear counters"},
		{cmd: "show stat"},
		trafficStep("FE1", 3),
		idleStep(),
		{cmd: "clear counters all"},
		{cmd: "show stat"},
		{cmd: "show servers state"},
		{cmd: "clear counters foo"},
		{cmd: "show stat"},
	})
}

// TestCompatTrack follows servers that track another one (`track`),
// directly, in a chain and from another backend, through the tracked
// server's drain, maintenance and check failures, and the commands that
// tracking servers refuse.
func TestCompatTrack(t *testing.T) {
	t.Parallel()
	v := vars{}
	addBackends(t, v, 2, 4)
	b1 := startBackend(t, "s1")
	v["s1"] = b1.Addr
	p := startCompat(t, compatGlobal+`
frontend fe_app
    bind $FE1
    default_backend be

backend be
    server c1 $s1 check inter 1s rise 2 fall 2
    server t1 $s2 track be/c1
    server t2 $s3 track t1
    server x1 $s4

backend be2
    server t3 $s4 track be/c1
`, v)
	p.settle(t)
	look := []compatStep{
		settleStep(),
		{cmd: "show stat"},
		{cmd: "show servers state"},
		trafficStep("FE1", 6),
	}
	steps := append([]compatStep{}, look...)
	for _, c := range []string{
		"set server be/c1 state drain",
		"set server be/c1 state maint",
		"set server be/c1 state ready",
		"set server be/t1 state maint",
		"set server be/c1 state maint",
		"set server be/c1 state ready",
		"set server be/t1 state ready",
		"set server be/t1 state drain",
		"set server be/c1 state drain",
		"set server be/t1 state ready",
		"set server be/c1 state ready",
		"set server be/c1 health down",
		"set server be/c1 health up",
	} {
		steps = append(steps, compatStep{cmd: c})
		steps = append(steps, look...)
	}
	for _, c := range []string{
		"set server be/t1 health down",
		"set server be/t1 health up",
		"set server be/t1 check-port 1000",
		"enable health be/t1",
		"disable health be/t1",
		"set weight be/t1 50%",
		"get weight be/t1",
		"del server be/c1",
		"del server be/t1",
		"add server be/n1 " + v["s4"] + " track be/c1",
		"add server be/n2 " + v["s4"] + " track t1",
		"add server be/n3 " + v["s4"] + " track be/x1",
		"add server be/n4 " + v["s4"] + " track be/n1",
		"add server be/n5 " + v["s4"] + " track be/nosuch",
		"add server be/n6 " + v["s4"] + " track nobe/c1",
		"add server be/n7 " + v["s4"] + " check track be/c1",
		"show servers state",
		"set server be/n1 state ready",
		"set server be/c1 state maint",
		"show stat",
		"del server be/n1",
		"set server be/c1 state ready",
	} {
		steps = append(steps, compatStep{cmd: c})
	}
	// The tracked server fails its checks: every tracker goes down with
	// it, and be2 has no server left.
	steps = append(steps, compatStep{desc: "c1's server stops", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
		if d == p.Hap {
			b1.Stop()
		}
		return ""
	}})
	steps = append(steps, look...)
	p.run(t, steps)
}
