package test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStateSurvivesRestart: what operators change at runtime is written
// to the state file before the command answers, so that pivotd, killed
// outright and started again, comes back as they left it: maintenance,
// weight, address, forced health, a disabled check, a server's maxconn, added and deleted
// servers, a paused frontend, its maxconn and the global one.
func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
	v := vars{"fe": freeAddr(t), "fe2": freeAddr(t), "dir": dir, "a": a.Addr, "b": b.Addr, "c": c.Addr}
	cfg := filepath.Join(dir, "pivot.cfg")
	if err := os.WriteFile(cfg, []byte(expand(`
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`frontend fe
    bind $fe
    default_backend be
frontend fe2
    bind $fe2
    default_backend be
backend be
    server a $a
    server b $b weight 3
    server gone $c
    server down $c
    server c1 $c check inter 200ms
`, v)), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	start := func() *pivot {
		p := startPivotOpts(t, "", pivotOpts{paths: []string{cfg}, noWait: true})
		waitAdminAlive(t, sock)
		return p
	}
	p := start()
	for _, cmd := range []string{
		"set server be/a state maint",
		"set weight be/b 7",
		"set server be/b addr 127.0.0.1 port " + c.Port(),
		"set server be/gone state maint",
		"del server be/gone",
		"add server be/n1 " + a.Addr + " weight 2",
		"set server be/n1 state ready",
		"set server be/down health down",
		"disable frontend fe2",
		"set maxconn frontend fe 123",
		"set maxconn server be/b 77",
		"disable health be/c1",
		"set maxconn global 3000",
	} {
		if got := adminSend(t, sock, cmd+"\n"); strings.Contains(got, "No such") || strings.Contains(got, "Unknown") {
			t.Fatalf("%s: %q", cmd, got)
		}
	}
	want := adminSend(t, sock, "show servers state\n")
	// A crash: no chance to save anything more.
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done

	start()
	got := adminSend(t, sock, "show servers state\n")
	if norm(got) != norm(want) {
		t.Errorf("after a restart the servers differ\nbefore:\n%s\nafter:\n%s", want, got)
	}
	stat := adminSend(t, sock, "show stat\n")
	for _, w := range []string{"be,a,", ",MAINT,", "be,n1,", "fe2,FRONTEND,"} {
		if !strings.Contains(stat, w) {
			t.Errorf("show stat lacks %q:\n%s", w, stat)
		}
	}
	if strings.Contains(stat, "be,gone,") {
		t.Errorf("the deleted server came back:\n%s", stat)
	}
	for _, l := range strings.Split(stat, "\n") {
		f := strings.Split(l, ",")
		switch {
		case strings.HasPrefix(l, "fe2,FRONTEND,") && f[17] != "PAUSED":
			t.Errorf("fe2 status %q; want PAUSED", f[17])
		case strings.HasPrefix(l, "fe,FRONTEND,") && f[6] != "123":
			t.Errorf("fe slim %q; want 123", f[6])
		case strings.HasPrefix(l, "be,down,") && f[17] != "DOWN":
			t.Errorf("be/down status %q; want DOWN", f[17])
		case strings.HasPrefix(l, "be,b,") && f[6] != "77":
			t.Errorf("be/b slim %q; want 77", f[6])
		}
	}
	if info := adminSend(t, sock, "show info\n"); !strings.Contains(info, "\nMaxconn: 3000\n") {
		t.Errorf("the global maxconn was not restored:\n%s", info)
	}
	// Traffic follows the restored state: a is in maintenance, b now
	// points at c's address, n1 (weight 2) at a's.
	seen := map[string]int{}
	for range 10 {
		name, err := tryWho(v["fe"])
		if err != nil {
			t.Fatal(err)
		}
		seen[name]++
	}
	if seen["a"] == 0 || seen["c"] == 0 || seen["b"] != 0 {
		t.Errorf("after the restart connections went to %v; want a (via n1) and c (b's new address)", seen)
	}
	if conn, err := net.DialTimeout("tcp", v["fe2"], time.Second); err == nil {
		conn.Close()
		t.Error("the paused frontend fe2 accepts connections after the restart")
	}
}

// norm drops from a servers state dump the time since the last change
// and the last check's status and result (columns 10–12): a restart
// starts them again (a check disabled before it ever ran has none).
func norm(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 11 && !strings.HasPrefix(l, "#") {
			f[9], f[10], f[11] = "#", "#", "#"
			lines[i] = strings.Join(f, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// TestBadStateFile: a damaged state file is reported, line by line, and
// never stops pivotd; the configuration decides what it cannot.
func TestBadStateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := startBackend(t, "a")
	v := vars{"fe": freeAddr(t), "dir": dir, "a": a.Addr}
	cfg := filepath.Join(dir, "pivot.cfg")
	os.WriteFile(cfg, []byte(expand(`
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`listen app
    bind $fe
    server a $a
    server b $a
`, v)), 0o644)
	os.WriteFile(cfg+".state", []byte("1\n# header\n3 app 1 a 127.0.0.1 2 1 1 1 0 1 0 0 0 0 0 0 - 1 - 0 0 - - 0\n3 app 2 b 127.0.0.1 x y z\n3 nosuch 1 a 127.0.0.1 2 0 1 1 0 1 0 0 0 0 0 0 - 1 - 0 0 - - 0\n#pivot frontend app sideways maxconn 1\n"), 0o640)
	p := startPivotOpts(t, "", pivotOpts{paths: []string{cfg}})
	for _, w := range []string{"pivot.cfg.state:4: 8 fields, want at least 19", `pivot.cfg.state:5: no backend "nosuch"`, `pivot.cfg.state:6: frontend state "sideways" unknown`} {
		waitLine(t, p.Stderr, 5*time.Second, regexp.QuoteMeta(w))
	}
	// The valid line applied: a is in maintenance, b serves.
	if got, err := tryWho(v["fe"]); err != nil || got != "a" {
		// b points at the same backend "a": any answer proves service.
		t.Fatalf("service after a damaged state file: %q, %v", got, err)
	}
	waitAdminAlive(t, filepath.Join(dir, "admin.sock"))
	if st := adminSend(t, filepath.Join(dir, "admin.sock"), "show stat\n"); !strings.Contains(st, "app,a,") || !strings.Contains(st, ",MAINT,") {
		t.Errorf("the valid state line was not applied:\n%s", st)
	}

	// Not a state file at all: reported, then the configuration.
	os.WriteFile(cfg+".state", []byte("\x00\x01garbage"), 0o640)
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p = startPivotOpts(t, "", pivotOpts{paths: []string{cfg}})
	waitLine(t, p.Stderr, 5*time.Second, "not a server state file")
}

// TestHAProxyLoadsPivotState: the state file pivotd keeps is one HAProxy
// 2.6 loads (load-server-state-from-file), with the same maintenance and
// weights; pivot's own lines are comments to it.
func TestHAProxyLoadsPivotState(t *testing.T) {
	t.Parallel()
	bin := compatHaproxy(t)
	dir := t.TempDir()
	a, b := startBackend(t, "a"), startBackend(t, "b")
	body := `
` + baseDefaults + `    load-server-state-from-file global
frontend fe
    bind $fe
    default_backend be
backend be
    server a $a
    server b $b weight 3
`
	pv := vars{"fe": freeAddr(t), "dir": dir, "a": a.Addr, "b": b.Addr}
	cfg := filepath.Join(dir, "pivot.cfg")
	os.WriteFile(cfg, []byte(expand("global\n    stats socket $dir/admin.sock level admin\n    server-state-file $dir/state\n"+body, pv)), 0o644)
	startPivotOpts(t, "", pivotOpts{paths: []string{cfg}})
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	adminSend(t, sock, "set server be/a state maint;set weight be/b 7;add server be/n1 "+a.Addr+"\n")
	want := adminSend(t, sock, "show servers state\n")

	hv := vars{"fe": freeAddr(t), "dir": dir, "a": a.Addr, "b": b.Addr}
	hcfg := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(hcfg, []byte(expand("global\n    stats socket $dir/h.sock level admin\n    server-state-file $dir/state\n"+body, hv)), 0o644)
	hap := startHAProxy(t, bin, hcfg)
	hsock := filepath.Join(dir, "h.sock")
	waitFor(t, 5*time.Second, func() error { _, err := tryAdminSend(hsock, "show info\n"); return err })
	got := adminSend(t, hsock, "show servers state\n")
	// HAProxy has no n1 (its format cannot hold added servers); the
	// configured servers must match, but for the health count, which
	// HAProxy's loader sets to full for a server that is up.
	strip := func(s string) string {
		var out []string
		for _, l := range strings.Split(norm(s), "\n") {
			f := strings.Fields(l)
			if len(f) > 12 && !strings.HasPrefix(l, "#") {
				f[12] = "#"
				l = strings.Join(f, " ")
			}
			if !strings.Contains(l, " n1 ") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	if g, w := strip(got), strip(want); g != w {
		t.Errorf("HAProxy loaded the state differently\npivotd:\n%s\nhaproxy:\n%s\nhaproxy output:\n%s", w, g, hap.out)
	}
}
