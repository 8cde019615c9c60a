package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustParse parses src or fails the test with every error.
func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := Parse("test.cfg", []byte(src))
	if err != nil {
		t.Fatalf("Parse failed:\n%v\ninput:\n%s", err, src)
	}
	return cfg
}

// proxy finds a proxy by kind and name.
func proxy(t *testing.T, c *Config, kind ProxyKind, name string) *Proxy {
	t.Helper()
	for _, px := range c.Proxies {
		if px.Kind == kind && px.Name == name {
			return px
		}
	}
	t.Fatalf("no %s %q", kind, name)
	return nil
}

// A frontend and backend pair every accepted-input case can start from.
const feBe = "frontend fe\n    bind :5432\n    default_backend be\nbackend be\n"

// sprint is fmt.Sprintln without the newline: values separated by spaces.
func sprint(a ...any) string { return strings.TrimSuffix(fmt.Sprintln(a...), "\n") }

func TestParseAccepted(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		get  func(c *Config) any
		want string // fmt's %+v of what get returns
	}{
		{"proxy ids start at 2", feBe, func(c *Config) any { return []int{c.Proxies[0].ID, c.Proxies[1].ID} }, "[2 3]"},
		{"explicit proxy ids are skipped", "backend a\nbackend b\n    id 2\nbackend c\n",
			func(c *Config) any { return []int{c.Proxies[0].ID, c.Proxies[1].ID, c.Proxies[2].ID} }, "[3 2 4]"},
		{"mode defaults to tcp", feBe, func(c *Config) any { return c.Proxies[0].Mode + "," + c.Proxies[1].Mode }, "tcp,tcp"},
		{"backend defaults", feBe, func(c *Config) any {
			be := c.Proxies[1]
			return sprint(be.Balance, be.Retries, be.Timeouts)
		}, "{roundrobin 0} 3 {0s 0s 0s 0s 0s 0s 0s 0s}"},
		{"frontend has no backend fields", feBe, func(c *Config) any {
			fe := c.Proxies[0]
			return sprint(fe.Balance, fe.Retries, fe.Servers == nil)
		}, "{ 0} 0 true"},
		{"server defaults", feBe + "    server s1 10.0.0.1:5432\n", func(c *Config) any {
			s := c.Proxies[1].Servers[0]
			return sprint(s.ID, s.Host, s.Port, s.Check, s.Inter, s.FastInter, s.DownInter, s.Rise, s.Fall, s.Weight)
		}, "1 10.0.0.1 5432 false 2s 2s 2s 2 3 1"},
		{"server keywords", feBe + "    server s1 db.example.com:5432 check inter 5s fastinter 1s downinter 10s rise 3 fall 4 port 8008 addr 10.0.0.9 weight 256 maxconn 100 maxqueue 10 backup disabled slowstart 30s on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions id 7 agent-check agent-port 9999 agent-addr 10.0.0.8 agent-inter 500ms agent-send \"hello\\n\"\n",
			func(c *Config) any { s := *c.Proxies[1].Servers[0]; s.Pos = Pos{}; return s },
			"{Pos:{File: Line:0} Name:s1 ID:7 IDForced:true Host:db.example.com Port:5432 Check:true Inter:5s FastInter:1s DownInter:10s Rise:3 Fall:4 CheckPort:8008 CheckAddr:10.0.0.9 Agent:true AgentPort:9999 AgentAddr:10.0.0.8 AgentInter:500ms AgentSend:hello\n Weight:256 MaxConn:100 MaxQueue:10 Backup:true Disabled:true SlowStart:30s Track: OnMarkedDownShutdown:true OnMarkedUpShutdownBackup:true}"},
		{"track chains across backends", feBe + "    server c1 h check\n    server t1 h track c1\nbackend other\n    server t2 h track be/t1\n", func(c *Config) any {
			return sprint(c.Proxies[1].Servers[1].Track, c.Proxies[2].Servers[0].Track)
		}, "c1 be/t1"},
		{"fastinter follows inter", feBe + "    server s1 h inter 7s\n", func(c *Config) any {
			s := c.Proxies[1].Servers[0]
			return sprint(s.Inter, s.FastInter, s.DownInter)
		}, "7s 7s 7s"},
		{"no-check and enabled undo default-server", feBe + "    default-server check disabled weight 0\n    server s1 h no-check enabled\n    server s2 h\n", func(c *Config) any {
			s1, s2 := c.Proxies[1].Servers[0], c.Proxies[1].Servers[1]
			return sprint(s1.Check, s1.Disabled, s1.Weight, s2.Check, s2.Disabled)
		}, "false false 0 true true"},
		{"server addresses", feBe + "    server a 10.0.0.1\n    server b [::1]:5432\n    server c ipv6@::1:6432\n    server d ipv4@10.0.0.2:1\n    server e fe80::1\n    server f [fe80::1%eth0]:5\n", func(c *Config) any {
			var out []string
			for _, s := range c.Proxies[1].Servers {
				out = append(out, fmt.Sprintf("%s/%d", s.Host, s.Port))
			}
			return out
		}, "[10.0.0.1/0 ::1/5432 ::1/6432 10.0.0.2/1 fe80::1/0 fe80::1%eth0/5]"},
		{"server ids skip explicit ones", feBe + "    server a h\n    server b h id 1\n    server c h\n", func(c *Config) any {
			var ids []int
			for _, s := range c.Proxies[1].Servers {
				ids = append(ids, s.ID)
			}
			return ids
		}, "[2 1 3]"},
		{"balance random", feBe + "    balance random\n", func(c *Config) any { return c.Proxies[1].Balance }, "{Algo:random Draws:2}"},
		{"balance random(5)", feBe + "    balance random(5)\n", func(c *Config) any { return c.Proxies[1].Balance }, "{Algo:random Draws:5}"},
		{"balance leastconn", feBe + "    balance leastconn\n", func(c *Config) any { return c.Proxies[1].Balance }, "{Algo:leastconn Draws:0}"},
		{"timeouts", "frontend fe\n    bind :1\n    default_backend be\n    timeout client 1m\n    timeout client-fin 500\nbackend be\n    timeout connect 5s\n    timeout server 2h\n    timeout queue 250us\n    timeout check 3s\n    timeout server-fin 1s\n    timeout tunnel 1d\n",
			func(c *Config) any { return []Timeouts{c.Proxies[0].Timeouts, c.Proxies[1].Timeouts} },
			"[{Connect:0s Client:1m0s Server:0s Queue:0s Check:0s ClientFin:500ms ServerFin:0s Tunnel:0s} {Connect:5s Client:0s Server:2h0m0s Queue:250µs Check:3s ClientFin:0s ServerFin:1s Tunnel:24h0m0s}]"},
		{"frontend limits", "frontend fe\n    bind :1\n    default_backend be\n    maxconn 500\n    rate-limit sessions 100\nbackend be\n    fullconn 300\n    retries 0\n",
			func(c *Config) any {
				return sprint(c.Proxies[0].MaxConn, c.Proxies[0].RateLimitSessions, c.Proxies[1].FullConn, c.Proxies[1].Retries)
			}, "500 100 300 0"},
		{"options", "frontend fe\n    bind :1\n    default_backend be\n    option tcplog\n    option dontlognull\n    option splice-auto\nbackend be\n    option redispatch\n    option allbackups\n    option splice-request\n    option splice-response\n",
			func(c *Config) any {
				fe, be := c.Proxies[0], c.Proxies[1]
				return sprint(fe.TCPLog, fe.DontLogNull, be.Redispatch, be.RedispatchInterval, be.AllBackups)
			}, "true true true 0 true"},
		{"option redispatch N", feBe + "    option redispatch -2\n", func(c *Config) any { return c.Proxies[1].RedispatchInterval }, "-2"},
		{"no option", "defaults\n    option redispatch 3\n    option tcplog\nlisten l\n    bind :1\n    no option redispatch\n    no option tcplog\n    no option splice-auto\n",
			func(c *Config) any {
				px := c.Proxies[0]
				return sprint(px.Redispatch, px.RedispatchInterval, px.TCPLog)
			}, "false 0 false"},
		{"disabled and enabled", "backend a\n    disabled\nbackend b\n    disabled\n    enabled\n",
			func(c *Config) any { return sprint(c.Proxies[0].Disabled, c.Proxies[1].Disabled) }, "true false"},
		{"description joins words", "backend b\n    description primary  database\n", func(c *Config) any { return c.Proxies[0].Description }, "primary database"},
		{"description quoted", "backend b\n    description \"primary  database\"\n", func(c *Config) any { return c.Proxies[0].Description }, "primary  database"},
		{"listen is both", "listen pg\n    bind :5432\n    server s1 10.0.0.1:5432 check\n",
			func(c *Config) any {
				px := c.Proxies[0]
				return sprint(px.Kind, len(px.Binds), len(px.Servers), px.Balance.Algo)
			}, "listen 1 1 roundrobin"},
		{"frontend and backend may share a name", "frontend pg\n    bind :1\n    default_backend pg\nbackend pg\n",
			func(c *Config) any { return c.Proxies[0].DefaultBackend }, "pg"},
		{"default_backend may name a listen", "frontend fe\n    bind :1\n    default_backend l\nlisten l\n    bind :2\n",
			func(c *Config) any { return c.Proxies[0].DefaultBackend }, "l"},
		{"global", "global\n    maxconn 10000\n    maxpipes 64\n    stats timeout 30s\n    server-state-file /var/lib/pivot/state\n    server-state-base /var/lib/pivot\n    pidfile /run/pivot.pid\n    daemon\n    nbthread 4\n    hard-stop-after 5m\n",
			func(c *Config) any { g := c.Global; g.Pos = Pos{}; return g },
			"{Pos:{File: Line:0} MaxConn:10000 MaxPipes:64 StatsSockets:[] StatsTimeout:30s ServerStateFile:/var/lib/pivot/state ServerStateBase:/var/lib/pivot Logs:[] PidFile:/run/pivot.pid Daemon:true NbThread:4 HardStopAfter:5m0s}"},
		{"stats sockets", "global\n    stats socket /run/pivot.sock mode 660 uid 0 gid 10 level admin expose-fd listeners\n    stats socket ipv4@127.0.0.1:9999 user haproxy group haproxy level user\n    stats socket unix@rel.sock\n    stats socket 127.0.0.1:9998\n",
			func(c *Config) any {
				var out []string
				for _, s := range c.Global.StatsSockets {
					out = append(out, fmt.Sprintf("%s %o %d %d %s %s %s %v", s.Addr, uint32(s.Mode), s.UID, s.GID, s.User, s.Group, s.Level, s.ExposeFdListeners))
				}
				return strings.Join(out, "|")
			}, "/run/pivot.sock 660 0 10   admin true|ipv4@127.0.0.1:9999 0 -1 -1 haproxy haproxy user false|rel.sock 0 -1 -1    false|ipv4@127.0.0.1:9998 0 -1 -1    false"},
		{"global log targets", "global\n    log stdout format raw local0\n    log 127.0.0.1 len 4096 format rfc5424 daemon info err\n    log udp6@[::1]:1514 local7 debug\n    log /dev/log user\n",
			func(c *Config) any {
				var out []string
				for _, l := range c.Global.Logs {
					out = append(out, fmt.Sprintf("%s,%s,%d,%s,%s,%s", l.Address, l.Format, l.Len, l.Facility, l.Level, l.MinLevel))
				}
				return out
			}, "[stdout,raw,0,local0,, 127.0.0.1,rfc5424,4096,daemon,info,err udp6@[::1]:1514,,0,local7,debug, /dev/log,,0,user,,]"},
		{"log global copies the global targets", "global\n    log 10.0.0.1:514 local0\n    log stderr local1\nbackend b\n    log global\n    log 10.0.0.2 local2\n",
			func(c *Config) any {
				var out []string
				for _, l := range c.Proxies[0].Logs {
					out = append(out, l.Address)
				}
				return out
			}, "[10.0.0.1:514 stderr 10.0.0.2]"},
		{"log global sees global sections declared later", "backend b\n    log global\nglobal\n    log stderr local1\n",
			func(c *Config) any { return len(c.Proxies[0].Logs) }, "1"},
		{"no log clears inherited logs", "global\n    log stderr local0\ndefaults\n    log global\nbackend a\nbackend b\n    no log\n",
			func(c *Config) any { return sprint(len(c.Proxies[0].Logs), c.Proxies[1].Logs == nil) }, "1 true"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := mustParse(t, tc.src)
			if got := fmt.Sprintf("%+v", tc.get(cfg)); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestParseBind(t *testing.T) {
	tests := []struct {
		line string
		want string // host/port-portEnd for each bind
	}{
		{"bind *:5432", "[/5432-0]"},
		{"bind :5432", "[/5432-0]"},
		{"bind 0.0.0.0:5432", "[0.0.0.0/5432-0]"},
		{"bind 127.0.0.1:5432", "[127.0.0.1/5432-0]"},
		{"bind [::1]:5432", "[::1/5432-0]"},
		{"bind :::5432", "[::/5432-0]"},
		{"bind ipv6@::1:5432", "[::1/5432-0]"},
		{"bind ipv4@:5432", "[0.0.0.0/5432-0]"},
		{"bind ipv4@*:5432", "[0.0.0.0/5432-0]"},
		{"bind ipv6@:5432", "[::/5432-0]"},
		{"bind ipv4@10.1.2.3:5432", "[10.1.2.3/5432-0]"},
		{"bind :1000-1002", "[/1000-1002]"},
		{"bind :1000-1000", "[/1000-0]"},
		{"bind :5432,127.0.0.1:6432,[::1]:7432", "[/5432-0 127.0.0.1/6432-0 ::1/7432-0]"},
		{"bind :5432\n    bind :6432", "[/5432-0 /6432-0]"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg := mustParse(t, "frontend fe\n    "+tc.line+"\n    default_backend be\nbackend be\n")
			var got []string
			for _, b := range cfg.Proxies[0].Binds {
				got = append(got, fmt.Sprintf("%s/%d-%d", b.Host, b.Port, b.PortEnd))
			}
			if s := fmt.Sprint(got); s != tc.want {
				t.Errorf("got %q; want %q", s, tc.want)
			}
		})
	}
	t.Run("options", func(t *testing.T) {
		cfg := mustParse(t, "frontend fe\n    bind :1,:2 name pg maxconn 10 v4v6 v6only\n    bind :3 id 1\n    default_backend be\nbackend be\n")
		var got []string
		for _, b := range cfg.Proxies[0].Binds {
			got = append(got, fmt.Sprintf("%d:%s:%d:%v:%v:%d", b.Port, b.Name, b.MaxConn, b.V4V6, b.V6Only, b.ID))
		}
		want := "[1:pg:10:true:true:2 2:pg:10:true:true:3 3::0:false:false:1]"
		if s := fmt.Sprint(got); s != want {
			t.Errorf("got %q; want %q", s, want)
		}
	})
}

func TestQuotingAndEnvironment(t *testing.T) {
	t.Setenv("PIVOT_TEST_PG_HOST", "10.9.8.7")
	t.Setenv("PIVOT_TEST_PG_PORT", "6543")
	cfg := mustParse(t, `
global
    pidfile "/run/my pivot.pid"   # quoted blank
    server-state-file '/var/lib/${NOT_EXPANDED}'
    server-state-base /var/lib/pivot\ state
backend pg
    description "node ${PIVOT_TEST_PG_HOST}" 'is "primary"'
    server s1 ${PIVOT_TEST_PG_HOST}:${PIVOT_TEST_PG_PORT} inter ${PIVOT_TEST_UNSET_INTER-3s}
`)
	s := cfg.Proxies[0].Servers[0]
	got := fmt.Sprint(cfg.Global.PidFile, "|", cfg.Global.ServerStateFile, "|", cfg.Global.ServerStateBase, "|",
		cfg.Proxies[0].Description, "|", s.Host, ":", s.Port, " ", s.Inter)
	want := `/run/my pivot.pid|/var/lib/${NOT_EXPANDED}|/var/lib/pivot state|node 10.9.8.7 is "primary"|10.9.8.7:6543 3s`
	if got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestDefaultsAndFrom(t *testing.T) {
	cfg := mustParse(t, `
defaults base
    timeout connect 1s
    timeout client 10s
    retries 5
    default-server inter 9s check
defaults fast from base
    timeout connect 100ms
defaults
    balance leastconn
backend a from base
    server s h
backend b from fast
    server s h
backend c
    server s h
listen d
    bind :1
    server s h
frontend e from base
    bind :2
    default_backend a
`)
	tests := []struct{ name, want string }{
		// from base: its timeouts, retries and default-server
		{"a", "connect=1s client=0s retries=5 balance=roundrobin servers=[9s/true]"},
		// fast inherits base and overrides one value
		{"b", "connect=100ms client=0s retries=5 balance=roundrobin servers=[9s/true]"},
		// no from: the last defaults section, which started afresh
		{"c", "connect=0s client=0s retries=3 balance=leastconn servers=[2s/false]"},
		{"d", "connect=0s client=0s retries=3 balance=leastconn servers=[2s/false]"},
		// a frontend keeps only the frontend side of its defaults
		{"e", "connect=0s client=10s retries=0 balance= servers=[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var px *Proxy
			for _, p := range cfg.Proxies {
				if p.Name == tc.name {
					px = p
				}
			}
			var servers []string
			for _, s := range px.Servers {
				servers = append(servers, fmt.Sprintf("%v/%v", s.Inter, s.Check))
			}
			got := fmt.Sprintf("connect=%v client=%v retries=%d balance=%s servers=%v",
				px.Timeouts.Connect, px.Timeouts.Client, px.Retries, px.Balance.Algo, servers)
			if got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestDefaultBackendFromDefaults(t *testing.T) {
	cfg := mustParse(t, "defaults\n    default_backend be\nfrontend fe\n    bind :1\nlisten l\n    bind :2\nbackend be\n")
	got := cfg.Proxies[0].DefaultBackend + "," + cfg.Proxies[1].DefaultBackend
	if want := "be,"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// writeFile writes a file under dir for a Load test.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFilesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	global := writeFile(t, dir, "haproxy.cfg", "global\n    maxconn 100\ndefaults\n    timeout connect 3s\n")
	conf := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	// Lexical order, not creation order; other extensions are ignored.
	writeFile(t, conf, "20-pg.cfg", "backend pg\n    server s1 10.0.0.1:5432\n")
	writeFile(t, conf, "10-fe.cfg", "frontend fe\n    bind :5432\n    default_backend pg\n")
	writeFile(t, conf, "30-mysql.cfg.disabled", "this is not read\n")
	if err := os.Mkdir(filepath.Join(conf, "sub.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	last := writeFile(t, dir, "last.cfg", "backend zz\n")

	cfg, err := Load([]string{global, conf, last})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, px := range cfg.Proxies {
		got = append(got, fmt.Sprintf("%s:%d:%v", px.Name, px.ID, px.Timeouts.Connect))
	}
	// The defaults of the first file apply to the proxies of the later ones.
	want := "[fe:2:0s pg:3:3s zz:4:3s]"
	if s := fmt.Sprint(got); s != want {
		t.Errorf("got %q; want %q", s, want)
	}
	if cfg.Global.MaxConn != 100 {
		t.Errorf("got maxconn %d; want 100", cfg.Global.MaxConn)
	}
}

func TestLoadErrorsInFileOrder(t *testing.T) {
	dir := t.TempDir()
	// z.cfg is loaded first: errors follow the load order, not names.
	z := writeFile(t, dir, "z.cfg", "backend a\n    bogus 1\n")
	a := writeFile(t, dir, "a.cfg", "backend b\n    retries x\n\n    bogus 2\n")
	missing := filepath.Join(dir, "missing.cfg")
	_, err := Load([]string{z, missing, a})
	want := strings.Join([]string{
		z + `:2: unknown keyword "bogus" in backend "a"`,
		missing + ": cannot read: no such file or directory",
		a + `:2: "retries" in backend "b": invalid number "x"`,
		a + `:4: unknown keyword "bogus" in backend "b"`,
	}, "\n")
	if err == nil {
		t.Fatalf("Load succeeded; want %q", want)
	}
	if got := err.Error(); got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestLoadSectionsEndWithTheFile(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.cfg", "backend a\n")
	b := writeFile(t, dir, "b.cfg", "    server s1 10.0.0.1\n")
	_, err := Load([]string{a, b})
	want := b + `:1: keyword "server" outside of any section (expected global, defaults, frontend, backend or listen first)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v; want %q", err, want)
	}
}

func TestParseErrorReturnsNilConfig(t *testing.T) {
	cfg, err := Parse("x.cfg", []byte("backend b\n    mode http\n"))
	if cfg != nil || err == nil {
		t.Fatalf("got %v, %v; want nil and an error", cfg, err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("got %T %v; want an ErrorList of 1", err, err)
	}
	e := list[0]
	got := fmt.Sprintf("%s|%d|%s|%s", e.File, e.Line, e.Keyword, e.Msg)
	want := `x.cfg|2|mode|mode http is not supported in backend "b": pivot is a TCP (layer 4) load balancer`
	if got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestDocExamples(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"pgsql.cfg", "frontend pgsql_frontend id=2 binds=[:5432] -> pgsql_backend | backend pgsql_backend id=3 roundrobin servers=[pgsql_node1 192.168.1.10:5432 check; pgsql_node2 192.168.1.11:5432 check; pgsql_node3 192.168.1.12:5432 check]"},
		{"mysql.cfg", "frontend mysql id=2 binds=[:3306] -> mysql_servers | backend mysql_servers id=3 leastconn servers=[s1 192.168.1.21:3306; s2 192.168.1.22:3306]"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			cfg, err := Load([]string{filepath.Join("..", "..", "docs", "examples", tc.file)})
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, px := range cfg.Proxies {
				s := fmt.Sprintf("%s %s id=%d", px.Kind, px.Name, px.ID)
				if px.Kind.HasFrontend() {
					var binds []string
					for _, b := range px.Binds {
						binds = append(binds, fmt.Sprintf("%s:%d", b.Host, b.Port))
					}
					s += fmt.Sprintf(" binds=%v -> %s", binds, px.DefaultBackend)
				}
				if px.Kind.HasBackend() {
					var servers []string
					for _, sv := range px.Servers {
						x := fmt.Sprintf("%s %s:%d", sv.Name, sv.Host, sv.Port)
						if sv.Check {
							x += " check"
						}
						servers = append(servers, x)
					}
					s += fmt.Sprintf(" %s servers=[%s]", px.Balance.Algo, strings.Join(servers, "; "))
				}
				parts = append(parts, s)
			}
			if got := strings.Join(parts, " | "); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
