package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// The real clients: redis-benchmark against a real Redis, and pgbench -S
// against a real PostgreSQL, both from Debian, both started here on
// loopback and stopped by PID. A server that is not installed is left
// out of the report, which says so.

// daemon is a database server this benchmark started.
type daemon struct {
	proc *os.Process
	stop func()
}

// startRedis runs redis-server on addr's port without persistence.
func startRedis(port int) (*daemon, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (apt-get install -y redis-server)")
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxclients", "4000")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{proc: cmd.Process, stop: func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }}
	if !waitListening(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second) {
		d.stop()
		return nil, fmt.Errorf("redis-server does not listen on port %d", port)
	}
	return d, nil
}

func waitListening(addr string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if listening(addr) {
			return true
		}
	}
	return false
}

var rpsRE = regexp.MustCompile(`(?m)(SET|GET): ([0-9.]+) requests per second`)

// redisBenchmark runs redis-benchmark (50 clients, SET and GET) through
// addr and returns the mean of their requests per second; keepalive
// false opens a connection per request.
func redisBenchmark(addr string, keepalive bool, n int) (float64, error) {
	host, port := splitAddr(addr)
	k := "1"
	if !keepalive {
		k = "0"
	}
	out, err := exec.Command("redis-benchmark", "-h", host, "-p", port, "-c", "50", "-n", strconv.Itoa(n),
		"-t", "set,get", "-q", "-k", k).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %v: %s", err, out)
	}
	m := rpsRE.FindAllStringSubmatch(string(out), -1)
	if len(m) != 2 {
		return 0, fmt.Errorf("redis-benchmark: no figures in %q", out)
	}
	a, _ := strconv.ParseFloat(m[0][2], 64)
	b, _ := strconv.ParseFloat(m[1][2], 64)
	return (a + b) / 2, nil
}

func splitAddr(addr string) (string, string) {
	i := len(addr) - 1
	for i >= 0 && addr[i] != ':' {
		i--
	}
	return addr[:i], addr[i+1:]
}

// startPostgres creates a cluster in dir (as the postgres user when run
// as root, which PostgreSQL requires), starts it on port with trust
// authentication over TCP, and fills it with pgbench -i.
func startPostgres(dir string, port int) (*daemon, error) {
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL is not installed (apt-get install -y postgresql)")
	}
	bindir := filepath.Dir(initdb)
	data := filepath.Join(dir, "pg")
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		os.Chmod(dir, 0o755)
	}
	run := func(name string, args ...string) ([]byte, error) {
		cmd := exec.Command(filepath.Join(bindir, name), args...)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if cred != nil {
		if err := os.Mkdir(data, 0o700); err != nil {
			return nil, err
		}
		os.Chown(data, int(cred.Uid), int(cred.Gid))
	}
	if out, err := run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	cmd := exec.Command(filepath.Join(bindir, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "max_connections=300", "-c", "fsync=off")
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	logf, _ := os.Create(filepath.Join(dir, "pg.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{proc: cmd.Process, stop: func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() }}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !waitListening(addr, 20*time.Second) {
		d.stop()
		return nil, fmt.Errorf("postgres does not listen on %s", addr)
	}
	if out, err := pgbench(addr, "-i", "-s", "2", "-q"); err != nil {
		d.stop()
		return nil, fmt.Errorf("pgbench -i: %v: %s", err, out)
	}
	return d, nil
}

func pgbench(addr string, args ...string) ([]byte, error) {
	host, port := splitAddr(addr)
	return exec.Command("pgbench", append([]string{"-h", host, "-p", port, "-U", "postgres"}, append(args, "postgres")...)...).CombinedOutput()
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbenchSelect runs pgbench -S (select only, 16 clients) through addr
// for d and returns its transactions per second; connect opens a
// connection per transaction (-C).
func pgbenchSelect(addr string, connect bool, d time.Duration) (float64, error) {
	args := []string{"-S", "-c", "16", "-j", "2", "-T", strconv.Itoa(max(int(d.Seconds()), 1))}
	if connect {
		args = append(args, "-C")
	}
	out, err := pgbench(addr, args...)
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v: %s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in %q", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
