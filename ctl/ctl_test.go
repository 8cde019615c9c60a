package ctl

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in, network, address, err string
	}{
		{in: "/run/pivot/admin.sock", network: "unix", address: "/run/pivot/admin.sock"},
		{in: "admin.sock", network: "unix", address: "admin.sock"},
		{in: "./run/a.sock", network: "unix", address: "./run/a.sock"},
		{in: "unix@/tmp/a.sock", network: "unix", address: "/tmp/a.sock"},
		{in: "unix:///tmp/a.sock", network: "unix", address: "/tmp/a.sock"},
		{in: "/tmp/odd@name:1", network: "unix", address: "/tmp/odd@name:1"},
		{in: "ipv4@127.0.0.1:9999", network: "tcp", address: "127.0.0.1:9999"},
		{in: "ipv6@[::1]:9999", network: "tcp", address: "[::1]:9999"},
		{in: "tcp://127.0.0.1:9999", network: "tcp", address: "127.0.0.1:9999"},
		{in: "127.0.0.1:9999", network: "tcp", address: "127.0.0.1:9999"},
		{in: "localhost:9999", network: "tcp", address: "localhost:9999"},
		{in: "", err: "empty socket address"},
		{in: "tcp://127.0.0.1", err: "want HOST:PORT"},
		{in: "ipv4@127.0.0.1:70000", err: "between 1 and 65535"},
		{in: "tcp://:9999", err: "missing host"},
		{in: "abns@pivot", err: "unknown scheme"},
		{in: "http://127.0.0.1:80", err: "unknown scheme"},
		{in: "unix@", err: "missing path"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAddr(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAddr(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got.Network != tt.network || got.Address != tt.address {
				t.Fatalf("ParseAddr(%q) = %+v, %v; want %s %s", tt.in, got, err, tt.network, tt.address)
			}
		})
	}
}

func TestClassifyReply(t *testing.T) {
	tests := []struct {
		cmd, reply string
		refused    bool
		context    string
	}{
		// success is an empty answer
		{cmd: "set server pg_be/pg1 state drain", reply: "\n"},
		{cmd: "shutdown sessions server pg_be/new1", reply: "\n"},
		{cmd: "enable frontend pg_fe", reply: "\n"},
		{cmd: "clear counters foo", reply: "\n"},
		// refusals of silent commands, real HAProxy 2.6.12 bytes
		{cmd: "set server nosuch/pg1 state maint", reply: "No such backend.\n\n", refused: true, context: `no backend named "nosuch"`},
		{cmd: "set server pg_be/nosuch state maint", reply: "No such server.\n\n", refused: true, context: `backend "pg_be": no server named "nosuch"`},
		{cmd: "shutdown sessions server pg_be/nosuch", reply: "No such server.\n\n", refused: true, context: `backend "pg_be": no server named "nosuch"`},
		{cmd: "set server pg_be state maint", reply: "Require 'backend/server'.\n\n", refused: true},
		{cmd: "set server pg_be/pg1 state offline", reply: "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n", refused: true},
		{cmd: "set server weighted/w1 weight 10x", reply: "Trailing garbage in weight string\n", refused: true},
		{cmd: "set server pg_be/pg1 state drain", reply: "Permission denied\n\n", refused: true, context: `"set server pg_be/pg1 state drain" needs a higher access level than this socket's (admin commands need ` + "`level admin`)"},
		{cmd: "disable frontend nosuch", reply: "No such frontend.\n\n", refused: true, context: `no frontend named "nosuch"`},
		{cmd: "enable frontend w_fe", reply: "Frontend was previously shut down, cannot enable.\n\n", refused: true},
		{cmd: "set rate-limit foo global 5", reply: "'set rate-limit' only supports :\n   - 'connections global' ...\n\n", refused: true},
		{cmd: "set server pg_be/pg1 state drain", reply: "[3]: No such server.\n\n", refused: true, context: `backend "pg_be": no server named "pg1"`},
		// non-empty success answers
		{cmd: "add server pg_be/new1 127.0.0.1:42151", reply: "New server registered.\n\n"},
		{cmd: "add server pg_be/new1 127.0.0.1:42151", reply: "Already exists a server with the same name in backend.\n\n", refused: true, context: `backend "pg_be" already has a server named "new1"`},
		{cmd: "del server mysql/my3", reply: "Server deleted.\n"},
		{cmd: "del server pg_be/new1", reply: "Only servers in maintenance mode can be deleted.\n", refused: true, context: "server pg_be/new1 is not in maintenance; put it there first (pivotctl server maint pg_be/new1)"},
		{cmd: "set server be/s addr 127.0.0.2", reply: "IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n\n"},
		{cmd: "set server be/s addr foo", reply: "Invalid addr 'foo'\n\n", refused: true},
		{cmd: "disable frontend pg_fe", reply: "All sockets are already disabled.\n\n"},
		{cmd: "expert-mode", reply: "expert-mode is OFF\n\n"},
		// reading commands: data unless a known error text
		{cmd: "show stat", reply: "# pxname,svname,\nfe,FRONTEND,\n\n"},
		{cmd: "get weight pg_be/pg1", reply: "1 (initial 1)\n\n"},
		{cmd: "get weight pg_be/nosuch", reply: "No such server.\n\n", refused: true, context: `backend "pg_be": no server named "nosuch"`},
		{cmd: "show foo", reply: "Unknown command, but maybe one of the following ones is a better match:\n  help\n\n", refused: true, context: `the daemon does not know the command "show foo"`},
		{cmd: "show sess 0x1234", reply: "Session not found.\n\n", refused: true},
		{cmd: "help", reply: "The following commands are valid at this level:\n  help\n\n"},
		{cmd: "show version", reply: "2.6.12-1+deb12u4\n"}, // no terminator: EOF ends it
		// several commands on one line
		{cmd: "show version;show cli level", reply: "2.6\n\nadmin\n\n"},
		{cmd: "show version;set server a/b state drain", reply: "2.6\n\nNo such backend.\n\n", refused: true},
		{cmd: `set server a/b agent-send x\;y`, reply: "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+"→"+firstLine(tt.reply), func(t *testing.T) {
			err := ClassifyReply(tt.cmd, tt.reply)
			var r *RefusedError
			if got := errors.As(err, &r); got != tt.refused {
				t.Fatalf("ClassifyReply(%q, %q) = %v; want refused=%v", tt.cmd, tt.reply, err, tt.refused)
			}
			if r != nil && r.Context != tt.context {
				t.Errorf("context = %q; want %q", r.Context, tt.context)
			}
			if r != nil && ExitCode(err) != ExitRefused {
				t.Errorf("ExitCode = %d; want %d", ExitCode(err), ExitRefused)
			}
		})
	}
}

func TestSplitCommands(t *testing.T) {
	got := SplitCommands(`show version;set server a/b agent-send x\;y;;quit`)
	want := []string{"show version", `set server a/b agent-send x\;y`, "", "quit"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{&RefusedError{Message: "No such server."}, ExitRefused},
		{&NotFoundError{Kind: "backend", Name: "x"}, ExitRefused},
		{Usagef("bad"), ExitUsage},
		{errors.New("flag provided but not defined: -x"), ExitUsage},
		{&UnreachableError{Addr: "/x", Op: "dial", Err: errors.New("refused")}, ExitUnreachable},
		{errors.Join(&RefusedError{}, &UnreachableError{Err: errors.New("x")}), ExitUnreachable},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d; want %d", tt.err, got, tt.want)
		}
	}
}

func TestParseServerRefAndWords(t *testing.T) {
	for _, bad := range []string{"pg", "/s1", "pg/", "p g/s1", "pg/s;1", "pg/s1/x"} {
		if _, err := ParseServerRef(bad); ExitCode(err) != ExitUsage {
			t.Errorf("ParseServerRef(%q) = %v; want a usage error", bad, err)
		}
	}
	if r, err := ParseServerRef("#3/#1"); err != nil || r.String() != "#3/#1" {
		t.Errorf("ParseServerRef(#3/#1) = %v, %v", r, err)
	}
	for w, ok := range map[string]bool{"0": true, "256": true, "50%": true, "-5": false, "10x": false, "": false, "%": false} {
		if err := CheckWeight(w); (err == nil) != ok {
			t.Errorf("CheckWeight(%q) = %v; want ok=%v", w, err, ok)
		}
	}
	if got := EscapeWord(`hello world;\`); got != `hello\ world\;\\` {
		t.Errorf("EscapeWord = %q", got)
	}
}

func TestParseStatCSVByName(t *testing.T) {
	rows := readRows(t, "show_stat_mixed.csv") // columns in another order, no final empty line
	if len(rows) != 8 {
		t.Fatalf("got %d rows; want 8", len(rows))
	}
	n3 := rows[3]
	if n3.Proxy() != "pg" || n3.Name() != "node3" || n3.Str("status") != "DOWN 1/2" || n3.Int("econ") != 17 || n3.Type() != TypeServer {
		t.Errorf("node3 = %v", n3.Fields)
	}
	if got := n3.Str("last_chk"); got != "Detected 2 consecutive errors, last one was: L4 unsuccessful connection" {
		t.Errorf("quoted last_chk = %q", got)
	}
	if rows[0].Int("bout") != 12345678901 || rows[0].Str("future_col") != "x" {
		t.Errorf("frontend = %v", rows[0].Fields)
	}
	if rows[0].Has("nosuch") || rows[0].Int("nosuch") != 0 {
		t.Errorf("absent column must read as empty")
	}
	for _, bad := range []string{"", "Unknown command\n", "pxname,svname\nx,y\n"} {
		if _, err := ParseStatCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseStatCSV(%q): no error", bad)
		}
	}
}

func TestStatFilterNotFound(t *testing.T) {
	rows := readRows(t, "show_stat.csv")
	for _, f := range []StatFilter{{Backends: []string{"nosuch"}}, {Servers: []string{"pg_be/nosuch"}}, {Backends: []string{"mysql"}, Servers: []string{"pg1"}}} {
		_, err := f.Filter(rows)
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Errorf("Filter(%+v) = %v; want a NotFoundError", f, err)
		}
	}
}

func TestParseSessions(t *testing.T) {
	const answer = "0x563cbb6512f0: proto=tcpv4 src=127.0.0.1:59940 fe=mysql be=mysql srv=my3 ts=00 epoch=0x2 age=1s calls=2 rate=1 cpu=0 lat=0 rq[f=808000h,i=0,an=00h,rx=58s,wx=,ax=] rp[f=80048202h,i=0,an=00h,rx=58s,wx=,ax=] scf=[8,0h,fd=19] scb=[8,1h,fd=18] exp=0s rc=0 c_exp=\n" +
		"0x7fabd8043d30: proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0x2 age=0s calls=1 rate=1 cpu=0 lat=0 rq[f=c08002h,i=0,an=00h,rx=10s,wx=,ax=] rp[f=80008002h,i=0,an=00h,rx=,wx=,ax=] scf=[8,0h,fd=20] scb=[8,1h,fd=-1] exp=9s rc=0 c_exp=\n\n"
	got, err := ParseSessions(strings.NewReader(answer))
	if err != nil || len(got) != 2 {
		t.Fatalf("ParseSessions = %v, %v", got, err)
	}
	want := Session{ID: "0x563cbb6512f0", Proto: "tcpv4", Src: "127.0.0.1:59940", Frontend: "mysql", Backend: "mysql", Server: "my3", Age: "1s"}
	g := got[0]
	g.Rest = ""
	if g != want {
		t.Errorf("got %+v; want %+v", g, want)
	}
	if s := SessionsOf(got, "mysql", "my3"); len(s) != 1 || s[0].ID != want.ID {
		t.Errorf("SessionsOf = %v", s)
	}
	if _, err := ParseSessions(strings.NewReader("garbage line\n")); err == nil {
		t.Error("no error for a line without the fixed part")
	}
}

// A daemon that answers without the final empty line and closes: Run
// returns the whole answer; the command arrived with its LF after a
// half-close.
func TestRunReadsToEOF(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "a.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 0, 64)
		buf := make([]byte, 64)
		for { // read until the client's half-close
			n, err := c.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- string(b)
		c.Write([]byte("Server deleted.\n"))
	}()
	c := &Client{Name: sock, addr: Addr{Network: "unix", Address: sock}, timeout: 2 * time.Second}
	reply, err := c.Run("del server a/b")
	if err != nil || reply != "Server deleted.\n" {
		t.Fatalf("Run = %q, %v", reply, err)
	}
	if cmd := <-got; cmd != "del server a/b\n" {
		t.Errorf("daemon got %q", cmd)
	}
	if _, err := Dial(filepath.Join(t.TempDir(), "none.sock"), time.Second); ExitCode(err) != ExitUnreachable {
		t.Errorf("Dial(missing socket) = %v; want an UnreachableError", err)
	}
	if _, err := Dial("tcp://x", time.Second); ExitCode(err) != ExitUsage {
		t.Errorf("Dial(bad address) = %v; want a UsageError", err)
	}
}

func FuzzStatCSV(f *testing.F) {
	for _, s := range []string{
		"# pxname,svname,status,\nfe,FRONTEND,OPEN,\n\n",
		"# pxname,svname,last_chk,\nbe,s1,\"a, \"\"b\"\"\",\n",
		"# a,a,,b\n1,2,3\n",
		"# x\n\"unterminated\n",
		"",
	} {
		f.Add(s, "last_chk", "Detected 2 consecutive errors, last one was: L4")
	}
	f.Fuzz(func(t *testing.T, input, col, val string) {
		// Any input: no panic; what parses writes back and parses the same.
		rows, err := ParseStatCSV(strings.NewReader(input))
		if err == nil && len(rows) > 0 {
			var out strings.Builder
			if err := WriteStatCSV(&out, rows); err != nil {
				t.Fatal(err)
			}
			again, err := ParseStatCSV(strings.NewReader(out.String()))
			if err != nil {
				t.Fatalf("re-parse of %q: %v", out.String(), err)
			}
			if len(again) != len(rows) && len(rows) > 0 {
				// a row of only empty fields with one column is an empty
				// line and is dropped; anything else must survive
				if len(rows[0].Columns) > 1 {
					t.Fatalf("round trip: %d rows, then %d", len(rows), len(again))
				}
			}
			for i := range again {
				for _, c := range rows[i].Columns {
					if norm(again[i].Str(c)) != norm(rows[i].Str(c)) {
						t.Fatalf("row %d column %q: %q, then %q", i, c, rows[i].Str(c), again[i].Str(c))
					}
				}
			}
		}
		// A valid CSV built by WriteStatCSV gives back its field values.
		if col == "" || strings.ContainsAny(col, "\"\r\n") || strings.HasPrefix(col, " ") || col == "pxname" {
			return
		}
		row := StatRow{Fields: map[string]string{"pxname": "be", col: val}, Columns: []string{"pxname", col}}
		var out strings.Builder
		WriteStatCSV(&out, []StatRow{row})
		back, err := ParseStatCSV(strings.NewReader(out.String()))
		if err != nil || len(back) != 1 {
			t.Fatalf("parse of %q: %v, %d rows", out.String(), err, len(back))
		}
		if norm(back[0].Str(col)) != norm(val) || back[0].Proxy() != "be" {
			t.Fatalf("column %q: wrote %q, read %q", col, val, back[0].Str(col))
		}
	})
}

// norm drops CRs: encoding/csv folds CRLF to LF even inside quoted fields,
// so a CR before a LF does not survive (HAProxy never writes CRs in values).
func norm(s string) string { return strings.ReplaceAll(s, "\r", "") }
