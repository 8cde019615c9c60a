package test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPivotRestoresHAProxyState: an HAProxy user who saves the servers'
// state before a reload (`show servers state` into the server-state-file
// that `load-server-state-from-file global` reads) and then starts pivotd
// on the same configuration file finds the servers as HAProxy left them:
// the one in maintenance still in maintenance, the changed weight, the
// changed address, and the traffic following.
func TestPivotRestoresHAProxyState(t *testing.T) {
	t.Parallel()
	bin := compatHaproxy(t)
	dir := t.TempDir()
	a, b, c, d := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c"), startBackend(t, "d")
	v := vars{"fe": freeAddr(t), "dir": dir, "a": a.Addr, "b": b.Addr, "c": c.Addr}
	cfg := writeFile(t, dir, "haproxy.cfg", expand(`
global
    stats socket $dir/admin.sock level admin
    server-state-file $dir/state
`+baseDefaults+`    load-server-state-from-file global

frontend fe
    bind $fe
    default_backend be

backend be
    default-server check inter 200ms
    server a $a
    server b $b
    server c $c
`, v))
	sock := filepath.Join(dir, "admin.sock")

	// HAProxy runs the configuration; the operator changes three servers.
	hap := startHAProxy(t, bin, cfg)
	waitFor(t, 10*time.Second, func() error {
		if !listening(v["fe"]) {
			return fmt.Errorf("haproxy does not listen on %s yet:\n%s", v["fe"], hap.out)
		}
		_, err := tryAdminSend(sock, "show info\n")
		return err
	})
	for _, line := range []string{
		"set server be/a state maint",
		"set weight be/b 7",
		"set server be/c addr 127.0.0.1 port " + d.Port(),
	} {
		if got := adminSend(t, sock, line+"\n"); strings.Contains(got, "No such") || strings.Contains(got, "nknown") || strings.Contains(got, "invalid") {
			t.Fatalf("haproxy: %s: %q", line, got)
		}
	}
	waitFor(t, 5*time.Second, func() error {
		if st := serverStatus(t, sock, "be", "c"); st != "UP" {
			return fmt.Errorf("haproxy shows c %q at its new address; want UP", st)
		}
		return nil
	})
	if got := tally(sequence(t, v["fe"], 16)); got["a"] != 0 || got["c"] != 0 || got["b"] == 0 || got["d"] == 0 {
		t.Fatalf("through haproxy, 16 connections went to %v; want b and d only", got)
	}
	// What the server state is before the reload: HAProxy's own
	// documented procedure.
	saved := adminSend(t, sock, "show servers state\n")
	writeFile(t, dir, "state", saved)
	if !hap.stop() {
		t.Fatalf("haproxy did not exit within 5s of SIGTERM:\n%s", hap.out)
	}
	// c's old address dies: only its new one (d) can pass a check or
	// take a connection.
	c.Stop()

	// pivotd on the very same file.
	accA, accB := a.Accepted(), b.Accepted()
	p := startPivotOpts(t, "", pivotOpts{paths: []string{cfg}})
	waitAdminAlive(t, sock)
	stat := func() map[string]map[string]string {
		return statByServer(adminSend(t, sock, "show stat\n"))
	}
	waitFor(t, 5*time.Second, func() error {
		rows := stat()
		// A check passed (L4OK) on c: at its new address, as the old
		// one is dead.
		for _, w := range []struct{ srv, status, check, weight, addr string }{
			{"a", "MAINT", "", "1", a.Addr},
			{"b", "UP", "L4OK", "7", b.Addr},
			{"c", "UP", "L4OK", "1", d.Addr},
		} {
			r := rows["be/"+w.srv]
			if got := []string{r["status"], strings.TrimPrefix(r["check_status"], "* "), r["weight"], r["addr"]}; !slices.Equal(got, []string{w.status, w.check, w.weight, w.addr}) {
				return fmt.Errorf("pivotd shows %s as %q (status, check, weight, address); want %q",
					w.srv, got, []string{w.status, w.check, w.weight, w.addr})
			}
		}
		return nil
	})
	// show servers state: the same lines as HAProxy saved, but for the
	// time since the last change and the check's last result and state
	// (pivotd's own checks started afresh).
	got := adminSend(t, sock, "show servers state\n")
	if g, w := keptStateColumns(got), keptStateColumns(saved); g != w {
		t.Errorf("pivotd's servers state differs from the one HAProxy saved\npivotd:\n%s\nhaproxy:\n%s", got, saved)
	}

	// Traffic: b (weight 7) and c's new address d (weight 1) share it
	// 7 to 1; a (maintenance) and c's old address take nothing.
	if got := tally(sequence(t, v["fe"], 16)); got["b"] != 14 || got["d"] != 2 {
		t.Errorf("16 connections went to %v; want 14 on b and 2 on d (c's new address)", got)
	}
	// b was checked a few times meanwhile: a, in maintenance, never.
	waitFor(t, 5*time.Second, func() error {
		if n := b.Accepted() - accB; n < 16+3 {
			return fmt.Errorf("b accepted %d connections; want 16 and 3 checks", n)
		}
		return nil
	})
	if n := a.Accepted() - accA; n != 0 {
		t.Errorf("a, in maintenance, accepted %d connections (checks or traffic)", n)
	}
	if l := matchingLines(p.Stderr, `state file`); l != nil {
		t.Errorf("pivotd complained about HAProxy's state file: %q", l)
	}
}

// keptStateColumns keeps the columns of a servers state dump that a restart
// must keep: all but srv_time_since_last_change, srv_check_status and
// srv_check_result, and srv_check_state without its "running" bit (0x1:
// a check under way at that instant).
func keptStateColumns(dump string) string {
	var out []string
	for _, l := range strings.Split(dump, "\n") {
		f := strings.Fields(l)
		if len(f) < 25 || strings.HasPrefix(l, "#") {
			continue
		}
		f[9], f[10], f[11] = "#", "#", "#"
		if n, err := strconv.Atoi(f[13]); err == nil {
			f[13] = strconv.Itoa(n &^ 1)
		}
		out = append(out, strings.Join(f, " "))
	}
	return strings.Join(out, "\n")
}
