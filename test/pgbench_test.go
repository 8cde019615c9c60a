package test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// pgbench runs the real pgbench through addr and returns its output.
func pgbench(t testing.TB, addr string, args ...string) *exec.Cmd {
	t.Helper()
	bin := needProgram(t, "postgresql-contrib", filepath.Join(pgBinDir, "pgbench"), "pgbench")
	host, port, _ := strings.Cut(addr, ":")
	return exec.Command(bin, append([]string{"-h", host, "-p", port, "-U", "postgres"}, args...)...)
}

var failedRE = regexp.MustCompile(`number of failed transactions: (\d+)`)

// TestMaintenanceUnderPgbench: pgbench reads through pivot from a primary
// and a standby while the standby is drained, waited for, put in
// maintenance, restarted (the upgrade) and put back; no transaction
// fails.
func TestMaintenanceUnderPgbench(t *testing.T) {
	t.Parallel()
	primary := startPostgres(t)
	runOut, err := pgbench(t, primary.Addr, "-i", "-s", "1", "-q", "postgres").CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, runOut)
	}
	standby := startStandby(t, primary)
	dir := t.TempDir()
	v := vars{"fe": freeAddr(t), "dir": dir, "p1": primary.Addr, "p2": standby.Addr}
	startPivot(t, `
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`listen pg
    bind $fe
    balance leastconn
    option pgsql-check user postgres
    default-server check inter 200ms
    server pg1 $p1
    server pg2 $p2
`, v)
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)
	// Select-only, a new connection per transaction, for 6 seconds.
	bench := pgbench(t, v["fe"], "-S", "-C", "-c", "4", "-T", "6", "postgres")
	var out syncBuffer
	bench.Stdout, bench.Stderr = &out, &out
	if err := bench.Start(); err != nil {
		t.Fatal(err)
	}
	// Once the load reaches pg2, take it out.
	waitFor(t, 5*time.Second, func() error {
		for _, l := range strings.Split(adminSend(t, sock, "show stat\n"), "\n") {
			if f := strings.Split(l, ","); len(f) > 7 && f[0] == "pg" && f[1] == "pg2" && f[7] != "0" {
				return nil
			}
		}
		return fmt.Errorf("no session on pg2 yet")
	})
	adminSend(t, sock, "set server pg/pg2 state drain\n")
	if got := adminSend(t, sock, "wait 10s srv-unused pg/pg2\n"); got != "Done.\n\n" {
		t.Fatalf("waiting for pg2 to drain: %q", got)
	}
	adminSend(t, sock, "set server pg/pg2 state maint\n")
	standby.Stop(t) // the upgrade
	standby.Start(t)
	adminSend(t, sock, "set server pg/pg2 state ready\n")
	err = bench.Wait()
	res := out.String()
	m := failedRE.FindStringSubmatch(res)
	if err != nil || m == nil || m[1] != "0" {
		t.Fatalf("pgbench during the maintenance: %v\n%s", err, res)
	}
	tps := regexp.MustCompile(`number of transactions actually processed: (\d+)`).FindStringSubmatch(res)
	t.Logf("pgbench: %s transactions, 0 failed, across drain, maint, restart and ready of pg2", tps[1])
}

// TestFailoverUnderPgbench: pgbench writes through pivot to the primary;
// the standby is promoted and the old primary stopped. A client writing
// through pivot in a loop measures how long writes were refused; then
// pgbench writes through pivot again, with no failure, and every write
// reaches the new primary.
func TestFailoverUnderPgbench(t *testing.T) {
	t.Parallel()
	primary := startPostgres(t)
	standby := startStandby(t, primary)
	dir := t.TempDir()
	v := vars{"rw": freeAddr(t), "dir": dir, "p1": primary.Addr, "p2": standby.Addr}
	startPivotOpts(t, expand(`
`+baseDefaults+`    timeout check 1s
listen pg_rw
    bind $rw
    option pgsql-check user pivot role primary password-env PIVOT_TEST_PGPASS
    default-server check inter 200ms rise 1 on-marked-down shutdown-sessions
    server pg1 $p1
    server pg2 $p2
`, v), pivotOpts{env: []string{"PIVOT_TEST_PGPASS=secret"}})
	if out, err := pgbench(t, v["rw"], "-i", "-s", "1", "-q", "postgres").CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i through pivot: %v\n%s", err, out)
	}
	// pgbench writes while the primary goes away: its clients on the old
	// primary are cut (they abort), as they must be.
	during := pgbench(t, v["rw"], "-c", "2", "-T", "3", "postgres")
	var duringOut syncBuffer
	during.Stdout, during.Stderr = &duringOut, &duringOut
	if err := during.Start(); err != nil {
		t.Fatal(err)
	}
	// A writer: one INSERT per connection through pivot, every 20ms.
	type try struct {
		at  time.Time
		err error
	}
	var mu sync.Mutex
	var tries []try
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := psqlExec(t, v["rw"], "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 0, now())")
			mu.Lock()
			tries = append(tries, try{time.Now(), err})
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// okSince counts the successful writes since t0, the last ones in a row.
	okSince := func(t0 time.Time) (n int) {
		mu.Lock()
		defer mu.Unlock()
		for i := len(tries) - 1; i >= 0 && tries[i].at.After(t0) && tries[i].err == nil; i-- {
			n++
		}
		return n
	}
	waitFor(t, 10*time.Second, func() error {
		if n := okSince(time.Time{}); n < 10 {
			return fmt.Errorf("%d writes so far", n)
		}
		return nil
	})
	primary.Stop(t)
	failover := time.Now()
	standby.Promote(t)
	waitFor(t, 20*time.Second, func() error {
		if n := okSince(failover); n < 25 {
			return fmt.Errorf("%d writes in a row since the failover", n)
		}
		return nil
	})
	close(stop)
	<-writerDone
	during.Wait()
	var first, last time.Time
	for _, tr := range tries {
		if tr.err != nil {
			if first.IsZero() {
				first = tr.at
			}
			last = tr.at
		}
	}
	t.Logf("writes were refused for %s (first to last failed write; %d writes tried)", last.Sub(first).Round(time.Millisecond), len(tries))

	// pgbench again: every transaction succeeds, on the new primary.
	out, err := pgbench(t, v["rw"], "-c", "2", "-T", "2", "postgres").CombinedOutput()
	m := failedRE.FindStringSubmatch(string(out))
	if err != nil || m == nil || m[1] != "0" {
		t.Fatalf("pgbench after the failover: %v\n%s", err, out)
	}
	if got, err := psqlThrough(t, v["rw"]); err != nil || got != "primary "+standby.Port {
		t.Errorf("after the failover pivot reaches %q (%v)", got, err)
	}
}

// psqlExec runs one statement through addr with psql.
func psqlExec(t testing.TB, addr, sql string) (string, error) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	psql := needProgram(t, "postgresql-client", filepath.Join(pgBinDir, "psql"), "psql")
	cmd := exec.Command(psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-c", sql)
	cmd.Env = append(cmd.Environ(), "PGCONNECT_TIMEOUT=2")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
