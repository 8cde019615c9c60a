package test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// psqlThrough asks, through pivot's frontend addr, which role the
// PostgreSQL server it reaches holds.
func psqlThrough(t testing.TB, addr string) (string, error) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	psql := needProgram(t, "postgresql-client", filepath.Join(pgBinDir, "psql"), "psql")
	cmd := exec.Command(psql, "-X", "-q", "-A", "-t", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres",
		"-c", "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END || ' ' || current_setting('port')")
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=3")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestPostgresRoleChecks: backends that send writes only to the primary
// and reads only to standbys, with real PostgreSQL servers (a primary and
// a streaming standby). At start no connection reaches the wrong role;
// when the standby is promoted and the old primary stopped, writes follow
// within a check interval, and the old primary's sessions are cut.
func TestPostgresRoleChecks(t *testing.T) {
	t.Parallel()
	primary := startPostgres(t)
	standby := startStandby(t, primary)
	dir := t.TempDir()
	pass := filepath.Join(dir, "pg.pass")
	os.WriteFile(pass, []byte("secret\n"), 0o600)
	v := vars{"rw": freeAddr(t), "ro": freeAddr(t), "dir": dir, "p1": primary.Addr, "p2": standby.Addr, "pass": pass}
	p := startPivotOpts(t, expand(`
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`    timeout check 2s
listen pg_rw
    bind $rw
    option pgsql-check user pivot role primary password-file $pass
    default-server check inter 300ms fall 3 rise 1 on-marked-down shutdown-sessions
    server pg1 $p1
    server pg2 $p2
listen pg_ro
    bind $ro
    option pgsql-check user pivot role standby password-env PIVOT_TEST_PGPASS
    default-server check inter 300ms rise 1
    server pg1 $p1
    server pg2 $p2
`, v), pivotOpts{env: []string{"PIVOT_TEST_PGPASS=secret"}})
	// Checks run at once and the servers wait for them: the very first
	// connections already go where the roles say.
	for range 4 {
		got, err := psqlThrough(t, v["rw"])
		if err != nil || got != "primary "+primary.Port {
			t.Fatalf("pg_rw reached %q (%v); want the primary on %s", got, err, primary.Port)
		}
		got, err = psqlThrough(t, v["ro"])
		if err != nil || got != "standby "+standby.Port {
			t.Fatalf("pg_ro reached %q (%v); want the standby on %s", got, err, standby.Port)
		}
	}
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	// A check running at the instant of the snapshot shows no
	// description (its row says "* L7..."), as HAProxy's do: ask until one
	// snapshot shows all three.
	var stat string
	waitFor(t, 5*time.Second, func() error {
		stat = adminSend(t, sock, "show stat\n")
		for _, w := range []string{"PostgreSQL primary", "PostgreSQL standby, not primary", "PostgreSQL primary, not standby"} {
			if !strings.Contains(stat, w) {
				return fmt.Errorf("show stat lacks %q:\n%s", w, stat)
			}
		}
		return nil
	})
	if strings.Contains(stat+p.Stderr.String(), "secret") {
		t.Error("the password appears in show stat or the logs")
	}

	// Failover: the standby is promoted, the old primary stopped.
	primary.Stop(t)
	start := time.Now()
	standby.Promote(t)
	waitFor(t, 10*time.Second, func() error {
		got, err := psqlThrough(t, v["rw"])
		if err != nil || got != "primary "+standby.Port {
			return fmt.Errorf("pg_rw reaches %q (%v)", got, err)
		}
		return nil
	})
	t.Logf("writes reached the new primary %s after the promotion", time.Since(start).Round(10*time.Millisecond))
	for range 4 {
		if got, err := psqlThrough(t, v["rw"]); err != nil || got != "primary "+standby.Port {
			t.Fatalf("after the failover pg_rw reached %q (%v)", got, err)
		}
	}
}

// redisCLI runs redis-cli against addr and returns its answer.
func redisCLI(t testing.TB, addr string, args ...string) (string, error) {
	t.Helper()
	bin := needProgram(t, "redis-tools", "redis-cli")
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(bin, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// startRedisPair starts a Redis master r1 and its replica r2, and pivotd
// with a listen section following the master (role check, sessions cut
// on a lost role); it returns the frontend in v["fe"] and the admin
// socket.
func startRedisPair(t *testing.T) (r1, r2 *redisServer, v vars, sock string) {
	t.Helper()
	r1, r2 = startRedis(t), startRedis(t)
	if out, err := redisCLI(t, r2.Addr, "REPLICAOF", "127.0.0.1", r1.Port); err != nil {
		t.Fatalf("REPLICAOF: %s %v", out, err)
	}
	dir := t.TempDir()
	v = vars{"fe": freeAddr(t), "dir": dir, "r1": r1.Addr, "r2": r2.Addr, "inter": redisPairInter.String()}
	startPivot(t, `
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`
listen redis
    bind $fe
    option redis-check role master
    default-server check inter $inter rise 1 on-marked-down shutdown-sessions
    server r1 $r1
    server r2 $r2
`, v)
	sock = filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	return r1, r2, v, sock
}

// redisPairInter is the check interval of startRedisPair's servers.
const redisPairInter = 500 * time.Millisecond

// waitRedisFailover waits until pivot has r1 down and r2 up.
func waitRedisFailover(t *testing.T, sock string) {
	t.Helper()
	waitFor(t, 5*time.Second, func() error {
		st := map[string]string{}
		for _, l := range strings.Split(adminSend(t, sock, "show stat\n"), "\n") {
			if f := strings.Split(l, ","); len(f) > 17 && f[0] == "redis" {
				st[f[1]] = f[17]
			}
		}
		if st["r1"] != "DOWN" || st["r2"] != "UP" {
			return fmt.Errorf("r1 %s, r2 %s", st["r1"], st["r2"])
		}
		return nil
	})
}

// TestRedisRoleChecks: a backend follows the Redis master. When the
// replica is promoted (REPLICAOF NO ONE) and the old master demoted, new
// connections go to the new master within a check interval, and the
// session held on the old one is cut (on-marked-down shutdown-sessions).
func TestRedisRoleChecks(t *testing.T) {
	t.Parallel()
	r1, r2, v, sock := startRedisPair(t)
	port := func() (string, error) {
		out, err := redisCLI(t, v["fe"], "CONFIG", "GET", "port")
		if err != nil {
			return "", fmt.Errorf("redis-cli through pivot: %s %v", out, err)
		}
		return strings.Fields(out)[len(strings.Fields(out))-1], nil
	}
	for range 3 {
		if got, err := port(); err != nil || got != r1.Port {
			t.Fatalf("reached port %s (%v); want the master %s", got, err, r1.Port)
		}
	}
	// A failover to the replica is refused and changes nothing: down,
	// it would leave no server; in maintenance, it would come out of it
	// down until its role check passed.
	for _, c := range []struct{ setup, want string }{
		{"", `failover refused: backend "redis": server "r2" is DOWN; the backend would be left with no server`},
		{"set server redis/r2 state maint", `failover refused: backend "redis": server "r2" is in maintenance and would take no traffic until its checks pass`},
	} {
		if c.setup != "" {
			adminSend(t, sock, c.setup+"\n")
		}
		if got := adminSend(t, sock, "failover redis/r2\n"); !strings.HasPrefix(got, c.want) {
			t.Errorf("failover to r2 (%q): %q; want %q", c.setup, got, c.want)
		}
		if st := serverStatus(t, sock, "redis", "r1"); st != "UP" {
			t.Fatalf("r1 is %s after a refused failover", st)
		}
		if got, err := port(); err != nil || got != r1.Port {
			t.Fatalf("after a refused failover: reached %s (%v); want the master %s", got, err, r1.Port)
		}
	}
	adminSend(t, sock, "set server redis/r2 state ready\n")
	held := dial(t, v["fe"])
	defer held.conn.Close()
	held.conn.SetDeadline(time.Now().Add(3 * time.Second))
	held.conn.Write([]byte("PING\r\n"))
	if got, err := held.r.ReadString('\n'); got != "+PONG\r\n" {
		t.Fatalf("held session: %q %v", got, err)
	}

	redisCLI(t, r2.Addr, "REPLICAOF", "NO", "ONE")
	redisCLI(t, r1.Addr, "REPLICAOF", "127.0.0.1", r2.Port)
	// Within a check interval r1 is down and r2 up; from then on every
	// connection reaches r2 (one made in between may be cut with r1's).
	switched := time.Now()
	waitRedisFailover(t, sock)
	took := time.Since(switched)
	t.Logf("pivot followed the new master %v after the switch (inter %v)", took.Round(time.Millisecond), redisPairInter)
	if took > redisPairInter+400*time.Millisecond { // the check's own time and this test's polling
		t.Errorf("pivot followed the new master after %v; want within a check interval (%v)", took, redisPairInter)
	}
	for range 3 {
		if got, err := port(); err != nil || got != r2.Port {
			t.Fatalf("after the promotion: reached %s (%v); want %s", got, err, r2.Port)
		}
	}
	held.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := held.r.ReadString('\n'); err == nil {
		t.Error("the session on the demoted master was not cut")
	}
}

// TestMariaDBRoleChecks: a writable and a read-only backend over the same
// MariaDB server follow its read_only switch, and the mariadb client
// reaches it through whichever backend matches.
func TestMariaDBRoleChecks(t *testing.T) {
	t.Parallel()
	m := startMariaDB(t)
	m.SQL(t, "CREATE USER 'pivot'@'127.0.0.1' IDENTIFIED BY 'secret'")
	dir := t.TempDir()
	v := vars{"rw": freeAddr(t), "ro": freeAddr(t), "dir": dir, "m": m.Addr}
	startPivot(t, `
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`listen my_rw
    bind $rw
    option mysql-check user pivot role writable password secret
    server m1 $m check inter 200ms rise 1
listen my_ro
    bind $ro
    option mysql-check user pivot role read-only password secret
    server m1 $m check inter 200ms rise 1
`, v)
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	client := needProgram(t, "mariadb-client", "mariadb", "mysql")
	query := func(addr string) (string, error) {
		host, port, _ := strings.Cut(addr, ":")
		out, err := exec.Command(client, "--no-defaults", "-h", host, "-P", port, "-u", "pivot", "-psecret",
			"--connect-timeout=3", "-N", "-B", "-e", "SELECT @@global.read_only").CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	status := func(px string) string {
		for _, l := range strings.Split(adminSend(t, sock, "show stat\n"), "\n") {
			if f := strings.Split(l, ","); len(f) > 17 && f[0] == px && f[1] == "m1" {
				return f[17]
			}
		}
		return ""
	}
	waitFor(t, 5*time.Second, func() error {
		if a, b := status("my_rw"), status("my_ro"); a != "UP" || b != "DOWN" {
			return fmt.Errorf("my_rw %s, my_ro %s", a, b)
		}
		return nil
	})
	if got, err := query(v["rw"]); err != nil || got != "0" {
		t.Errorf("through my_rw: %q %v", got, err)
	}
	m.SQL(t, "SET GLOBAL read_only = ON")
	waitFor(t, 5*time.Second, func() error {
		if a, b := status("my_rw"), status("my_ro"); a != "DOWN" || b != "UP" {
			return fmt.Errorf("my_rw %s, my_ro %s", a, b)
		}
		return nil
	})
	if got, err := query(v["ro"]); err != nil || got != "1" {
		t.Errorf("through my_ro: %q %v", got, err)
	}
	if got, err := query(v["rw"]); err == nil {
		t.Errorf("my_rw still reaches a read-only server: %q", got)
	}
}

// TestMariaDBExample runs docs/examples/mariadb.cfg (leastconn and
// mysql-check, as HAProxy users write it) in front of two real MariaDB
// servers, with the mariadb client: a held session makes leastconn send
// the next client to the other server; read_only, which mysql-check does
// not look at, keeps both UP (the role check is for that).
func TestMariaDBExample(t *testing.T) {
	t.Parallel()
	db1, db2 := startMariaDB(t), startMariaDB(t)
	for _, m := range []*mariaServer{db1, db2} {
		m.SQL(t, "CREATE USER 'haproxy'@'127.0.0.1'; CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT ALL ON *.* TO 'app'@'127.0.0.1'")
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "examples", "mariadb.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fe := freeAddr(t)
	cfg := strings.NewReplacer(
		"bind :3306", "bind "+fe,
		"/run/pivot/admin.sock", filepath.Join(dir, "admin.sock"),
		"192.168.1.21:3306", db1.Addr,
		"192.168.1.22:3306", db2.Addr,
	).Replace(string(data))
	startPivotOpts(t, cfg, pivotOpts{})
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	waitFor(t, 10*time.Second, func() error {
		st := adminSend(t, sock, "show stat\n")
		if strings.Count(st, "mariadb_servers,db") != 2 || strings.Count(st, ",UP,") < 3 || !strings.Contains(st, "L7OK") {
			return fmt.Errorf("servers not up yet:\n%s", st)
		}
		return nil
	})
	client := needProgram(t, "mariadb-client", "mariadb", "mysql")
	host, port, _ := strings.Cut(fe, ":")
	mariadb := func(sql string) *exec.Cmd {
		return exec.Command(client, "--no-defaults", "-h", host, "-P", port, "-u", "app", "-ppw",
			"--connect-timeout=3", "-N", "-B", "-e", sql)
	}
	// One client holds a session; the next one goes to the other server.
	held := mariadb("SELECT @@port, SLEEP(3)")
	var heldOut syncBuffer
	held.Stdout = &heldOut
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if !strings.Contains(adminSend(t, sock, "show sess\n"), "be=mariadb_servers") {
			return fmt.Errorf("the first client is not connected yet")
		}
		return nil
	})
	out, err := mariadb("SELECT @@port").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb through pivot: %v\n%s", err, out)
	}
	second := strings.TrimSpace(string(out))
	held.Wait()
	first := strings.Fields(heldOut.String())[0]
	if first == second || (first != db1.Port && first != db2.Port) || (second != db1.Port && second != db2.Port) {
		t.Errorf("leastconn sent both clients to %s and %s; want one on each server", first, second)
	}
	// read_only is not what mysql-check checks: db1 stays UP.
	db1.SQL(t, "SET GLOBAL read_only = ON")
	if st := adminSend(t, sock, "show stat\n"); strings.Count(st, ",UP,") < 3 {
		t.Errorf("a read_only switch changed the states of mysql-check servers:\n%s", st)
	}
}

// TestRedisBenchmarkFailover: redis-benchmark writes through pivot while
// the replica is promoted (REPLICAOF NO ONE) and the master demoted; the
// sessions on the demoted master are cut, and a new run goes entirely to
// the new master, without an error.
func TestRedisBenchmarkFailover(t *testing.T) {
	t.Parallel()
	bench := needProgram(t, "redis-tools", "redis-benchmark")
	r1, r2, v, sock := startRedisPair(t)
	host, port, _ := strings.Cut(v["fe"], ":")
	run := func(n string) *exec.Cmd {
		return exec.Command(bench, "-h", host, "-p", port, "-t", "set", "-n", n, "-c", "4", "-q")
	}
	stot := func(srv string) int {
		for _, l := range strings.Split(adminSend(t, sock, "show stat\n"), "\n") {
			if f := strings.Split(l, ","); len(f) > 7 && f[0] == "redis" && f[1] == srv {
				n, _ := strconv.Atoi(f[7])
				return n
			}
		}
		return -1
	}
	waitFor(t, 5*time.Second, func() error {
		if out, err := redisCLI(t, v["fe"], "PING"); err != nil || out != "PONG" {
			return fmt.Errorf("redis through pivot: %q %v", out, err)
		}
		return nil
	})
	during := run("200000")
	var duringOut syncBuffer
	during.Stdout, during.Stderr = &duringOut, &duringOut
	if err := during.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if stot("r1") < 4 {
			return fmt.Errorf("redis-benchmark not connected yet")
		}
		return nil
	})
	redisCLI(t, r2.Addr, "REPLICAOF", "NO", "ONE")
	redisCLI(t, r1.Addr, "REPLICAOF", "127.0.0.1", r2.Port)
	err := during.Wait() // its connections to r1 are cut: it may stop early
	t.Logf("redis-benchmark during the promotion: %v: %s", err, strings.TrimSpace(duringOut.String()))
	waitRedisFailover(t, sock)
	before := stot("r1")
	out, err := run("2000").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SET:") || strings.Contains(string(out), "rror") {
		t.Fatalf("redis-benchmark after the promotion: %v\n%s", err, out)
	}
	if got := stot("r1"); got != before {
		t.Errorf("%d connections reached the demoted master after the promotion", got-before)
	}
}

// TestRoleServersStartDown: a server with a role check takes no
// connection before a check has proven its role, both at a first start
// and after a restart whose state file says it was UP (its role may have
// changed while pivotd was down). r2 accepts and answers nothing, so its
// check cannot pass during the test: every client must reach the master.
func TestRoleServersStartDown(t *testing.T) {
	t.Parallel()
	r1 := startRedis(t)
	r2 := startBackendFunc(t, "r2", silentHandler)
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	cfg := filepath.Join(dir, "pivot.cfg")
	v := vars{"fe": freeAddr(t), "dir": dir, "r1": r1.Addr, "r2": r2.Addr}
	write := func(checks string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(expand(`
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`
listen redis
    bind $fe
`+checks+`    server r1 $r1
    server r2 $r2
`, v)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const roleChecks = `    option redis-check role master
    timeout check 5s
    default-server check inter 10s rise 1
`
	// Every client of the first second must reach the master; r2 sees
	// its check's connection and nothing else.
	onlyMaster := func(life string) {
		t.Helper()
		before := r2.Accepted()
		for i := range 20 {
			c, err := net.DialTimeout("tcp", v["fe"], time.Second)
			if err != nil {
				t.Fatalf("%s: connection %d: %v", life, i, err)
			}
			c.SetDeadline(time.Now().Add(time.Second))
			c.Write([]byte("PING\r\n"))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if line != "+PONG\r\n" {
				t.Fatalf("%s: connection %d got %q (%v): it did not reach the master", life, i, line, err)
			}
		}
		if n := r2.Accepted() - before; n > 1 {
			t.Errorf("%s: r2 accepted %d connections; want only its check's", life, n)
		}
		if st := serverStatus(t, sock, "redis", "r2"); st == "UP" {
			t.Errorf("%s: r2 is %s before its role was proven", life, st)
		}
	}

	// A first start, with no state file.
	write(roleChecks)
	p := startPivotOpts(t, "", pivotOpts{paths: []string{cfg}, args: []string{"-S", "none"}})
	waitAdminAlive(t, sock)
	onlyMaster("first start")
	p.signal(syscall.SIGTERM)
	p.expectExit0(5*time.Second, " after SIGTERM")

	// A life without checks leaves r2 UP in the state file...
	write("")
	p = startPivotOpts(t, "", pivotOpts{paths: []string{cfg}})
	waitAdminAlive(t, sock)
	adminSend(t, sock, "set weight redis/r2 2\n") // saves the state
	if st := serverStatus(t, sock, "redis", "r2"); st != "no check" {
		t.Fatalf("without checks r2 is %q; want it running (no check)", st)
	}
	p.signal(syscall.SIGTERM)
	p.expectExit0(5*time.Second, " after SIGTERM")
	// ...which does not put it back in rotation once role checks run.
	write(roleChecks)
	startPivotOpts(t, "", pivotOpts{paths: []string{cfg}})
	waitAdminAlive(t, sock)
	onlyMaster("restart with r2 UP in the state file")
	if got := adminSend(t, sock, "get weight redis/r2\n"); !strings.HasPrefix(got, "2 ") {
		t.Errorf("r2's weight was not restored: %q", got)
	}
	// Leaving maintenance, too, waits for the role to be proven.
	adminSend(t, sock, "set server redis/r2 state maint\n")
	adminSend(t, sock, "set server redis/r2 state ready\n")
	onlyMaster("out of maintenance")
}

// serverStatus is a server's status column in show stat.
func serverStatus(t testing.TB, sock, backend, server string) string {
	t.Helper()
	row, ok := statByServer(adminSend(t, sock, "show stat\n"))[backend+"/"+server]
	if !ok {
		t.Fatalf("show stat has no %s/%s", backend, server)
	}
	return row["status"]
}
