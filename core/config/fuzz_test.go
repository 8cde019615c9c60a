package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fuzzSeeds are inputs chosen to reach the tricky corners of the lexer
// and of the address parsers.
var fuzzSeeds = []string{
	"",
	"global\n",
	"global\n    daemon\n    nbthread 4\n    hard-stop-after 30s\n",
	"backend b\n    server s '' \n",
	"backend b\n    server s ::1\n    server t fe80::1:80\n    server u [fe80::1%eth0]:80\n",
	"frontend f\n    bind :::5432,[::1]:1-2,ipv4@:9,ipv6@*:10 name \"a b\" v4v6\n    default_backend b\nbackend b\n",
	"backend b\n    description \"a\\\"b\" 'c d' e\\ f \\x41\\$\\#\n",
	"backend b\n    description ${NOPE-x y}${NOPE2-}\n",
	"backend b\n    description \"${NOPE-}\"\n",
	"backend \"b\\\n",
	"global\n    stats socket unix@rel.sock mode 777 uid 0 gid 0 user u group g level user expose-fd listeners\n",
	"global\n    stats socket 127.0.0.1:9999\n    stats socket ipv6@[::1]:1\n    stats socket ::1:2\n",
	"global\n    log udp6@[::1]:514 len 80 format iso local7 debug emerg\n    log /dev/log daemon\n",
	"defaults a\n    log global\n    balance random(7)\ndefaults b from a\n    no log\nbackend x from a\nbackend y\n",
	"listen l\n    bind :1\n    option redispatch -2\n    timeout tunnel 1d\n    server s h\n",
	"frontend f\n    bind :1 id 5\n    bind :2\n    bind :3 id 1\n    default_backend f\nbackend f\n    id 2\n",
	"backend b\n    default-server inter 3s fastinter 1s weight 0 slowstart 0\n    server s 1.2.3.4 id 3\n    server t 1.2.3.4\n",
	"backend b\n    server s 1.2.3.4 port 1 addr ::1 maxconn 0 maxqueue 9 backup disabled enabled on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions\n",
	"backend b\n    timeout connect 999us\n    timeout server 2147483647\n    timeout queue 24d\n",
	"backend b\n    option tcp-check\n    tcp-check comment greet\n    tcp-check connect port 6379\n    tcp-check send PING\\r\\n\n    tcp-check send-binary 0a0B\n    tcp-check expect !rstring ^-ERR\n",
	"backend b\n    option httpchk GET /primary HTTP/1.1\n    http-check expect status 200-299\n",
	"backend b\n    option mysql-check user u pre-41\n",
	"backend b\n    option pgsql-check user postgres\n",
	"backend b\n    option redis-check\n",
	"backend b\n    option pgsql-check user pivot role standby password-env PGPASS database app\n",
	"backend b\n    option mysql-check user u pre-41 role read-only password-file /etc/p\n",
	"backend b\n    option redis-check role replica user default password s3cret\n",
}

func FuzzConfig(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, glob := range []string{"testdata/*.cfg", "testdata/errors/*.cfg", "../../docs/examples/*.cfg"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			if src, err := os.ReadFile(name); err == nil {
				f.Add(string(src))
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := Parse("fuzz.cfg", []byte(src))
		if err != nil {
			var list ErrorList
			if cfg != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse returned cfg %v and error %#v; want nil and a non-empty ErrorList", cfg, err)
			}
			return
		}
		out := Format(cfg)
		again, err := Parse("formatted.cfg", []byte(out))
		if err != nil {
			t.Fatalf("Format's output does not parse: %v\ninput:\n%s\nformatted:\n%s", err, src, out)
		}
		if got, want := withoutPos(again), withoutPos(cfg); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip changed the model\ngot:  %+v\nwant: %+v\nformatted:\n%s", got, want, out)
		}
		if out2 := Format(again); out2 != out {
			t.Fatalf("Format is not stable:\nfirst:\n%s\nsecond:\n%s", out, out2)
		}
	})
}

// withoutPos returns a deep copy of c with every Pos cleared, for
// comparing models that came from different text.
func withoutPos(c *Config) Config {
	out := Config{Global: c.Global}
	out.Global.Pos = Pos{}
	out.Global.StatsSockets = clearPos(c.Global.StatsSockets, func(s *StatsSocket) { s.Pos = Pos{} })
	out.Global.Logs = clearPos(c.Global.Logs, func(l *LogTarget) { l.Pos = Pos{} })
	for _, px := range c.Proxies {
		p := *px
		p.Pos = Pos{}
		p.Binds = clearPos(px.Binds, func(b *Bind) { b.Pos = Pos{} })
		p.Logs = clearPos(px.Logs, func(l *LogTarget) { l.Pos = Pos{} })
		p.Check.Rules = clearPos(px.Check.Rules, func(r *TCPCheckRule) { r.Pos = Pos{} })
		p.Servers = nil
		for _, s := range px.Servers {
			s := *s
			s.Pos = Pos{}
			p.Servers = append(p.Servers, &s)
		}
		out.Proxies = append(out.Proxies, &p)
	}
	return out
}

func clearPos[T any](in []T, clear func(*T)) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i := range in {
		out[i] = in[i]
		clear(&out[i])
	}
	return out
}
