package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Real database servers from Debian's packages, started by the tests on
// loopback in temporary directories and stopped at cleanup. A missing
// server fails the test under CI=true (.ci/run installs them) and skips
// it elsewhere, saying why.

// needProgram returns the path of the first of candidates that exists, or
// skips (fails under CI=true) naming the package that provides it.
func needProgram(t testing.TB, pkg string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if filepath.IsAbs(c) {
			if _, err := os.Stat(c); err == nil {
				return c
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s)", candidates[0], pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " and CI=true")
	}
	t.Skip(msg + ": skipping")
	return ""
}

// dbDir makes a temporary directory owned by the named system user (the
// database servers refuse to run as root), removed at cleanup, and
// returns the credentials to run the server with (nil when not root).
func dbDir(t testing.TB, owner string) (dir string, as *syscall.Credential) {
	t.Helper()
	dir, err := os.MkdirTemp("", "pivot-db-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() != 0 {
		return dir, nil
	}
	u, err := user.Lookup(owner)
	if err != nil {
		t.Fatalf("running as root needs the %s user: %v", owner, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// command prepares a command run with the given credentials (nil: as
// the test runs). The process started is the program itself, so killing
// it kills the server.
func command(as *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if as != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as}
		cmd.Env = append(os.Environ(), "HOME=/tmp")
	}
	return cmd
}

// runAs runs a command to completion and fails the test with its output
// if it fails.
func runAs(t testing.TB, as *syscall.Credential, name string, args ...string) string {
	t.Helper()
	cmd := command(as, name, args...)
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitListening polls until addr accepts connections.
func waitListening(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	waitFor(t, d, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// pgServer is a PostgreSQL cluster of the test's own.
type pgServer struct {
	Addr, Port string
	dir, bin   string
	as         *syscall.Credential
}

// pgBinDir is where Debian's postgresql package puts the server's
// programs (initdb, pg_ctl, ...): the newest version installed.
var pgBinDir = func() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	if len(dirs) == 0 {
		return "/usr/lib/postgresql/15/bin"
	}
	return dirs[0]
}()

// startPostgres initialises and starts a cluster on a free port: local
// connections trusted, plus a user "pivot" with password "secret"
// authenticated with scram-sha-256 from 127.0.0.1.
func startPostgres(t testing.TB) *pgServer {
	t.Helper()
	initdb := needProgram(t, "postgresql", filepath.Join(pgBinDir, "initdb"), "initdb")
	dir, as := dbDir(t, "postgres")
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	pg := &pgServer{Addr: addr, Port: port, dir: filepath.Join(dir, "data"), bin: filepath.Dir(initdb), as: as}
	runAs(t, as, initdb, "-D", pg.dir, "-U", "postgres", "-A", "trust", "--no-sync")
	conf := fmt.Sprintf("port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\n", port, dir)
	appendFile(t, filepath.Join(pg.dir, "postgresql.conf"), conf)
	// pivot authenticates with a password; everyone else is trusted.
	hba := "host all pivot 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\nlocal all all trust\n"
	if err := os.WriteFile(filepath.Join(pg.dir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if as != nil {
		os.Chown(filepath.Join(pg.dir, "pg_hba.conf"), int(as.Uid), int(as.Gid))
	}
	pg.Start(t)
	t.Cleanup(func() { pg.stop() })
	pg.SQL(t, "CREATE USER pivot PASSWORD 'secret'")
	return pg
}

// startStandby makes a streaming-replication standby of primary
// (pg_basebackup -R) on a port of its own and starts it.
func startStandby(t testing.TB, primary *pgServer) *pgServer {
	t.Helper()
	dir, as := dbDir(t, "postgres")
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	pg := &pgServer{Addr: addr, Port: port, dir: filepath.Join(dir, "data"), bin: primary.bin, as: as}
	runAs(t, as, filepath.Join(pg.bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", primary.Port, "-U", "postgres", "-D", pg.dir, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")
	appendFile(t, filepath.Join(pg.dir, "postgresql.conf"), fmt.Sprintf("port = %s\nunix_socket_directories = '%s'\n", port, dir))
	pg.Start(t)
	t.Cleanup(func() { pg.stop() })
	return pg
}

// Promote makes a standby the primary and waits until it is.
func (pg *pgServer) Promote(t testing.TB) {
	t.Helper()
	runAs(t, pg.as, filepath.Join(pg.bin, "pg_ctl"), "-D", pg.dir, "-w", "promote")
}

// Start starts (or restarts) the server and waits until it accepts
// connections.
func (pg *pgServer) Start(t testing.TB) {
	t.Helper()
	runAs(t, pg.as, filepath.Join(pg.bin, "pg_ctl"), "-D", pg.dir, "-l", filepath.Join(pg.dir, "log"), "-w", "start")
	waitListening(t, pg.Addr, 10*time.Second)
}

// Stop stops the server (fast shutdown: sessions are cut).
func (pg *pgServer) Stop(t testing.TB) {
	t.Helper()
	runAs(t, pg.as, filepath.Join(pg.bin, "pg_ctl"), "-D", pg.dir, "-m", "fast", "-w", "stop")
}

func (pg *pgServer) stop() {
	command(pg.as, filepath.Join(pg.bin, "pg_ctl"), "-D", pg.dir, "-m", "immediate", "-w", "stop").Run()
}

// SQL runs statements with psql as the superuser over TCP.
func (pg *pgServer) SQL(t testing.TB, sql string) string {
	t.Helper()
	psql := needProgram(t, "postgresql-client", filepath.Join(pg.bin, "psql"), "psql")
	return runAs(t, nil, psql, "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", pg.Port, "-U", "postgres", "-d", "postgres", "-c", sql)
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// redisServer is a redis-server of the test's own, without persistence.
type redisServer struct {
	Addr, Port string
	cmd        *exec.Cmd
	bin        string
	dir        string // its working directory: a replica writes the master's data there
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	bin := needProgram(t, "redis-server", "redis-server")
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	r := &redisServer{Addr: addr, Port: port, bin: bin, dir: t.TempDir()}
	r.Start(t)
	t.Cleanup(func() { r.stop() })
	return r
}

// Start starts (or restarts) the server and waits until it accepts
// connections.
func (r *redisServer) Start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command(r.bin, "--port", r.Port, "--bind", "127.0.0.1", "--dir", r.dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitListening(t, r.Addr, 10*time.Second)
}

// Stop kills the server.
func (r *redisServer) Stop(t testing.TB) { r.stop() }

func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

// mariaServer is a MariaDB server of the test's own.
type mariaServer struct {
	Addr, Port string
	dir        string
	cmd        *exec.Cmd
	bin        string
	as         *syscall.Credential
	sock       string
}

func startMariaDB(t testing.TB) *mariaServer {
	t.Helper()
	bin := needProgram(t, "mariadb-server", "/usr/sbin/mariadbd", "mariadbd")
	install := needProgram(t, "mariadb-server", "mariadb-install-db")
	dir, as := dbDir(t, "mysql")
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	m := &mariaServer{Addr: addr, Port: port, dir: dir, bin: bin, as: as, sock: filepath.Join(dir, "mysqld.sock")}
	// Its temporary files in its own directory, not /tmp: bootstraps run
	// side by side (and ones killed earlier leave files behind), and
	// one failed with "Could not remove temporary table
	// '/tmp/#sql-temptable-...'" and "Unknown table 'mysql.tmp_user_sys'".
	runAs(t, as, install, "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--tmpdir="+dir,
		"--auth-root-authentication-method=normal", "--skip-test-db")
	m.Start(t)
	t.Cleanup(func() { m.stop() })
	return m
}

// Start starts (or restarts) the server and waits until it accepts
// connections.
func (m *mariaServer) Start(t testing.TB) {
	t.Helper()
	m.cmd = command(m.as, m.bin, "--no-defaults",
		"--datadir="+filepath.Join(m.dir, "data"), "--tmpdir="+m.dir, "--socket="+m.sock, "--port="+m.Port,
		"--bind-address=127.0.0.1", "--pid-file="+filepath.Join(m.dir, "mysqld.pid"),
		"--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--skip-log-bin")
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitListening(t, m.Addr, 30*time.Second)
}

// Stop kills the server.
func (m *mariaServer) Stop(t testing.TB) { m.stop() }

func (m *mariaServer) stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Kill()
		m.cmd.Wait()
		m.cmd = nil
	}
}

// SQL runs statements as root over the server's Unix socket.
func (m *mariaServer) SQL(t testing.TB, sql string) string {
	t.Helper()
	client := needProgram(t, "mariadb-client", "mariadb", "mysql")
	return runAs(t, nil, client, "--no-defaults", "-S", m.sock, "-u", "root", "-N", "-B", "-e", sql)
}
