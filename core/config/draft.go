package config

import "slices"

// draft is a defaults or proxy section while it is being read. Defaults
// sections are drafts too: a proxy starts as a copy of its defaults and
// its own lines overwrite what they set, which is HAProxy's model and
// makes "explicitly zero" and "unset" easy to tell apart.
type draft struct {
	px    Proxy
	pos   Pos
	where string // `backend "pg"`, `defaults section`, ... for messages
	bad   bool   // the header was wrong: skip cross-proxy checks

	logs []logEntry
	tmpl Server // what default-server lines built; servers start from it

	defaultBackendPos Pos
}

// logEntry is a `log` line of a proxy before `log global` is resolved:
// global lines are only known once every file is read.
type logEntry struct {
	global bool
	target LogTarget
}

// builtinDefaults is what a proxy gets when nothing sets a value: mode
// tcp, 3 retries, roundrobin, and checks every 2s with rise 2, fall 3.
func builtinDefaults() *draft {
	return &draft{
		px: Proxy{
			Mode:    "tcp",
			Retries: 3,
			Balance: Balance{Algo: "roundrobin"},
		},
		tmpl: Server{
			Inter:      DefaultInter,
			AgentInter: DefaultInter,
			Rise:       DefaultRise,
			Fall:       DefaultFall,
			Weight:     DefaultWeight,
		},
	}
}

// inherit copies a defaults section for a section that uses it. Slices
// are cloned so that the sections never share a backing array.
func (d *draft) inherit() *draft {
	n := &draft{
		px:                d.px,
		logs:              slices.Clone(d.logs),
		tmpl:              d.tmpl,
		defaultBackendPos: d.defaultBackendPos,
	}
	n.px.Binds, n.px.Servers = nil, nil
	return n
}

// finish turns the draft into the Proxy of the model: `log global` is
// replaced by the global targets, servers get their check intervals, and
// fields that do not apply to the kind are cleared, so a backend never
// carries a `timeout client` it inherited from defaults.
func (d *draft) finish(globalLogs []LogTarget) *Proxy {
	px := d.px
	px.Logs = nil
	for _, l := range d.logs {
		if l.global {
			px.Logs = append(px.Logs, globalLogs...)
		} else {
			px.Logs = append(px.Logs, l.target)
		}
	}
	for _, s := range px.Servers {
		if s.FastInter == 0 {
			s.FastInter = s.Inter
		}
		if s.DownInter == 0 {
			s.DownInter = s.Inter
		}
	}
	if !px.Kind.HasBackend() {
		px.Balance = Balance{}
		px.FullConn, px.Retries = 0, 0
		px.Redispatch, px.RedispatchInterval, px.AllBackups = false, 0, false
		px.Servers = nil
		t := &px.Timeouts
		t.Connect, t.Server, t.Queue, t.Check, t.ServerFin, t.Tunnel = 0, 0, 0, 0, 0, 0
	}
	if !px.Kind.HasFrontend() {
		px.Binds = nil
		px.MaxConn, px.RateLimitSessions = 0, 0
		px.Timeouts.Client, px.Timeouts.ClientFin = 0, 0
		px.TCPLog, px.DontLogNull = false, false
	}
	if px.Kind != KindFrontend {
		px.DefaultBackend = ""
	}
	return &px
}
