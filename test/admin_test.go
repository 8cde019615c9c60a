package test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// adminSend sends one line on a Unix admin socket the way scripts do
// (write, half-close) and returns everything read until EOF.
func adminSend(t testing.TB, sock, line string) string {
	t.Helper()
	out, err := tryAdminSend(sock, line)
	if err != nil {
		t.Fatalf("%.60q on %s: %v", line, sock, err)
	}
	return out
}

func tryAdminSend(sock, line string) (string, error) {
	c, err := net.DialTimeout("unix", sock, ioTimeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c, line); err != nil {
		return "", err
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	return string(b), err
}

// waitAdminAlive polls until sock answers "show cli level" with "admin".
func waitAdminAlive(t testing.TB, sock string) {
	t.Helper()
	waitFor(t, 5*time.Second, func() error {
		out, err := tryAdminSend(sock, "show cli level\n")
		if err == nil && out != "admin\n\n" {
			err = fmt.Errorf("answer %q", out)
		}
		return err
	})
}

// startAdmin starts pivotd with an admin, an operator and a user socket
// in front of one echo backend, and waits until the admin socket answers.
func startAdmin(t *testing.T, extraGlobal string) (p *pivot, dir string, v vars) {
	t.Helper()
	dir = t.TempDir()
	b := startBackend(t, "s1")
	v = vars{"fe": freeAddr(t), "s1": b.Addr, "dir": dir, "extra": extraGlobal}
	p = startPivot(t, `
global
    stats socket $dir/admin.sock mode 600 level admin
    stats socket $dir/oper.sock level operator
    stats socket $dir/user.sock mode 644 level user
    $extra
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind $fe
    default_backend be
backend be
    server s1 $s1
    server s2 $s1 backup
`, v)
	waitFor(t, 5*time.Second, func() error {
		_, err := tryAdminSend(filepath.Join(dir, "admin.sock"), "show cli level\n")
		return err
	})
	return p, dir, v
}

func TestAdminSocketFiles(t *testing.T) {
	t.Parallel()
	_, dir, _ := startAdmin(t, "")
	for _, tc := range []struct {
		name string
		mode os.FileMode
	}{{"admin.sock", 0o600}, {"user.sock", 0o644}} {
		fi, err := os.Stat(filepath.Join(dir, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != tc.mode {
			t.Errorf("%s: mode %v; want a socket with %v", tc.name, fi.Mode(), tc.mode)
		}
	}
}

func TestAdminStaleSocketReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	// What a crashed run leaves: a socket file nobody listens on.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	b := startBackend(t, "s1")
	startPivot(t, `
global
    stats socket $sock level admin
listen app
    bind $fe
    server s1 $s1
`, vars{"sock": sock, "fe": freeAddr(t), "s1": b.Addr})
	waitAdminAlive(t, sock)
}

func TestAdminSocketInUseRefused(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a live process answering on the path
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cfg := writeFile(t, t.TempDir(), "pivot.cfg", fmt.Sprintf("global\n    stats socket %s level admin\nlisten app\n    bind %s\n    server s1 127.0.0.1:9\n", sock, freeAddr(t)))
	_, stderr, code := runPivotd(t, nil, "-f", cfg)
	if code == 0 || !strings.Contains(stderr, sock) || !strings.Contains(stderr, "another process is serving this socket") {
		t.Errorf("exit %d, stderr %q; want a refusal naming the socket", code, stderr)
	}
}

func TestAdminAccessLevels(t *testing.T) {
	t.Parallel()
	_, dir, _ := startAdmin(t, "")
	tests := []struct {
		sock, line, want string
	}{
		{"admin.sock", "show cli level\n", "admin\n\n"},
		{"oper.sock", "show cli level\n", "operator\n\n"},
		{"user.sock", "show cli level\n", "user\n\n"},
		{"user.sock", "set server be/s1 state drain\n", "Permission denied\n\n"},
		{"oper.sock", "set server be/s1 state drain\n", "Permission denied\n\n"},
		{"user.sock", "show sess\n", "Permission denied\n\n"},
		{"oper.sock", "clear counters all\n", "Permission denied\n\n"},
		{"oper.sock", "clear counters\n", "\n"},
		{"admin.sock", "user;show cli level;operator\n", "\nuser\n\nPermission denied\n\n"},
		{"user.sock", "get weight be/s1\n", "1 (initial 1)\n\n"},
	}
	for _, tt := range tests {
		if got := adminSend(t, filepath.Join(dir, tt.sock), tt.line); got != tt.want {
			t.Errorf("%s %q: %q; want %q", tt.sock, tt.line, got, tt.want)
		}
	}
}

func TestAdminFraming(t *testing.T) {
	t.Parallel()
	_, dir, _ := startAdmin(t, "")
	sock := filepath.Join(dir, "admin.sock")
	tests := []struct {
		desc, line, want string
		prefix           bool // want is only the start of the answer
	}{
		{desc: "one command", line: "show cli level\n", want: "admin\n\n"},
		{desc: "chained with ;", line: "show cli level;get weight be/s1\n", want: "admin\n\n1 (initial 1)\n\n"},
		{desc: "two lines in one write", line: "show cli level\nget weight be/s1\n", want: "admin\n\n1 (initial 1)\n\n"},
		{desc: "CRLF", line: "show cli level\r\n", want: "admin\n\n"},
		{desc: "last line without LF is not run", line: "show cli level", want: ""},
		{desc: "quit stops the line", line: "show cli level;quit;show cli level\n", want: "admin\n\n"},
		{desc: "prompt", line: "prompt;show cli level;prompt;show cli level\n", want: "\n> admin\n\n> \nadmin\n\n"},
		{desc: "escaped ; stays in the word", line: "show cli level\\;x\n", want: "Unknown command", prefix: true},
	}
	for _, tt := range tests {
		got := adminSend(t, sock, tt.line)
		if tt.prefix && !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: %q; want it to start with %q", tt.desc, got, tt.want)
		} else if !tt.prefix && got != tt.want {
			t.Errorf("%s: %q; want %q", tt.desc, got, tt.want)
		}
	}
}

// TestAdminBadClients: junk, a line over the limit, idle clients and a
// flood of connections each get an answer, an error or a timeout, and the
// daemon keeps answering.
func TestAdminBadClients(t *testing.T) {
	t.Parallel()
	_, dir, _ := startAdmin(t, "stats timeout 300ms")
	sock := filepath.Join(dir, "admin.sock")
	// After each, the daemon must still answer.
	t.Run("binary junk", func(t *testing.T) {
		junk := string([]byte{0, 1, 2, 0xff, 0xfe, ';', 0x7f, '\\', '\n'})
		if got := adminSend(t, sock, junk); !strings.HasPrefix(got, "Unknown command") {
			t.Errorf("junk answered %q", got)
		}
		waitAdminAlive(t, sock)
	})
	t.Run("line over the limit", func(t *testing.T) {
		got := adminSend(t, sock, strings.Repeat("x", 20000)+"\n")
		if !strings.HasPrefix(got, "Command line too long") {
			t.Errorf("long line answered %q", got)
		}
		waitAdminAlive(t, sock)
	})
	t.Run("idle client is closed after stats timeout", func(t *testing.T) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 1))
		if n != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("idle client: read %d, %v; want EOF", n, err)
		}
		if took := time.Since(start); took < 200*time.Millisecond || took > 3*time.Second {
			t.Errorf("closed after %v; want about 300ms", took)
		}
		waitAdminAlive(t, sock)
	})
	t.Run("a thousand connections at once", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		answered, closed := 0, 0
		for range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := tryAdminSend(sock, "show cli level\n")
				mu.Lock()
				defer mu.Unlock()
				if err == nil && out == "admin\n\n" {
					answered++
				} else {
					closed++
				}
			}()
		}
		wg.Wait()
		t.Logf("%d answered, %d closed or timed out", answered, closed)
		if answered == 0 {
			t.Error("no connection of the flood was answered")
		}
		waitAdminAlive(t, sock)
	})
}

func TestAdminChangesTraffic(t *testing.T) {
	t.Parallel()
	_, dir, v := startAdmin(t, "")
	sock := filepath.Join(dir, "admin.sock")
	if got := who(t, v["fe"]); got != "s1" {
		t.Fatalf("before: %q", got)
	}
	// s1 in maintenance: the backup (same backend process, name s1) — so
	// look at the stats instead of the greeting.
	if got := adminSend(t, sock, "set server be/s1 state maint\n"); got != "\n" {
		t.Fatalf("set server: %q", got)
	}
	who(t, v["fe"])
	stat := adminSend(t, sock, "show stat\n")
	var s1, s2 string
	for _, line := range strings.Split(stat, "\n") {
		switch {
		case strings.HasPrefix(line, "be,s1,"):
			s1 = line
		case strings.HasPrefix(line, "be,s2,"):
			s2 = line
		}
	}
	if !strings.Contains(s1, ",MAINT,") || !bytes.Contains([]byte(s2), []byte(",no check,")) {
		t.Fatalf("status after maint:\n%s\n%s", s1, s2)
	}
	// The backup took the connection made while s1 was in maintenance.
	if f := strings.Split(s2, ","); f[7] != "1" {
		t.Errorf("backup stot %q; want 1 (row %s)", f[7], s2)
	}
}

// TestAdminDeliberateDifferences checks pivot's answer wherever it departs
// from HAProxy 2.6 on purpose (docs/runtime-api.md lists each one; the
// compatibility suite leaves these out).
func TestAdminDeliberateDifferences(t *testing.T) {
	t.Parallel()
	_, dir, v := startAdmin(t, "")
	sock := filepath.Join(dir, "admin.sock")
	tests := []struct{ cmd, want string }{
		{"set server be/s1 addr 127.0.0.1 port 70000", "port 70000 is out of range 1-65535: nothing changed\n\n"},
		{"set maxconn server be/s1 -5", "maxconn -5 is out of range: 0 (no limit) to 2147483647.\n\n"},
		{"set maxconn frontend fe abc", "Integer value expected.\n\n"},
		{"set maxconn frontend fe 0", "Value out of range.\n\n"},
		{"add server be/n1 no-such-host.invalid:5432", ""},
		{"add server be/n2 " + v["s1"] + " weight", "weight: missing value.\n\n"},
		{"add server be/n3 " + v["s1"] + " foo", "unknown keyword 'foo'.\n\n"},
		{"set server be/s1 addr 127.0.0.1 port +1", "no need to change the addr, can't change <port> to port map because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive. by 'stats socket command'\n\n"},
	}
	for _, tt := range tests {
		got := adminSend(t, sock, tt.cmd+"\n")
		switch {
		case tt.want == "": // a host name that does not resolve
			if !strings.Contains(got, `cannot resolve "no-such-host.invalid"`) {
				t.Errorf("%s: %q; want a resolution error", tt.cmd, got)
			}
		case got != tt.want:
			t.Errorf("%s: %q; want %q", tt.cmd, got, tt.want)
		}
	}
	// Nothing was changed by the refusals: s1 still takes the traffic on
	// its own port.
	if got := who(t, v["fe"]); got != "s1" {
		t.Errorf("after the refused commands the frontend reached %q; want s1", got)
	}
}

// TestAdminTCPSocket: `stats socket ipv4@IP:PORT` serves the same language
// over TCP, with its own level.
func TestAdminTCPSocket(t *testing.T) {
	t.Parallel()
	tcp := freeAddr(t)
	_, dir, _ := startAdmin(t, "stats socket ipv4@"+tcp+" level operator")
	ask := func(cmd string) string {
		var out string
		waitFor(t, 5*time.Second, func() error {
			c, err := net.DialTimeout("tcp", tcp, ioTimeout)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(ioTimeout))
			io.WriteString(c, cmd+"\n")
			b, err := io.ReadAll(c)
			out = string(b)
			return err
		})
		return out
	}
	if got := ask("show cli level"); got != "operator\n\n" {
		t.Errorf("show cli level over TCP: %q", got)
	}
	if got := ask("set server be/s1 state maint"); got != "Permission denied\n\n" {
		t.Errorf("admin command on an operator TCP socket: %q", got)
	}
	// What the admin socket changes, the TCP socket shows.
	adminSend(t, filepath.Join(dir, "admin.sock"), "set server be/s1 state drain\n")
	if got := ask("show stat"); !strings.Contains(got, "\nbe,s1,") || !strings.Contains(got, ",DRAIN,") {
		t.Errorf("show stat over TCP after a drain:\n%s", got)
	}
}
