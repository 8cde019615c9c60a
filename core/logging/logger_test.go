package logging

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pivot/core/config"
)

// readDatagrams reads n datagrams from c, failing the test if they do not
// come within a few seconds.
func readDatagrams(t *testing.T, c net.PacketConn, n int) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	buf := make([]byte, 65536)
	for len(got) < n {
		m, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		got = append(got, string(buf[:m]))
	}
	return got
}

func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listenUnixgram(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

// A UDP target gets one datagram per line, with no newline, cut to len.
func TestUDPTarget(t *testing.T) {
	for _, prefix := range []string{"", "udp@", "udp4@", "ipv4@"} {
		t.Run("address "+prefix+"IP:PORT", func(t *testing.T) {
			srv := listenUDP(t)
			l := newTestLogger(t, []config.LogTarget{
				{Address: prefix + srv.LocalAddr().String(), Format: "rfc5424", Facility: "local0", Len: 80},
			}, Options{Hostname: "lb1"})
			l.Log(Info, "127.0.0.1:52212 [23/Nov/2026:06:58:37.512] pg_fe pg_be/pg1 1/0/3 13 -- 1/1/0/0/0 0/0")
			l.Log(Notice, "Server pg_be/pg1 is UP/READY (leaving forced maintenance).")

			got := readDatagrams(t, srv, 2)
			want := []string{ // 80 bytes each: len bounds the datagram
				"<134>1 2026-11-03T07:00:00.123456+00:00 lb1 pivot 4242 - - 127.0.0.1:52212 [23/N",
				"<133>1 2026-11-03T07:00:00.123456+00:00 lb1 pivot 4242 - - Server pg_be/pg1 is U",
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("datagram %d: got %q; want %q", i, got[i], want[i])
				}
			}
		})
	}
}

// A unix socket path is a datagram socket, like /dev/log.
func TestUnixTarget(t *testing.T) {
	for _, prefix := range []string{"", "unix@"} {
		t.Run("address "+prefix+"path", func(t *testing.T) {
			srv, path := listenUnixgram(t)
			l := newTestLogger(t, []config.LogTarget{{Address: prefix + path, Facility: "daemon"}}, Options{})
			l.Log(Warning, "Server pg_be/pg2 is DOWN, changed from CLI.")

			got := readDatagrams(t, srv, 1)[0]
			if want := "<28>Nov  3 07:00:00 pivot[4242]: Server pg_be/pg2 is DOWN, changed from CLI."; got != want {
				t.Errorf("got %q; want %q", got, want)
			}
		})
	}
}

// A socket that does not exist yet costs dropped lines, not a failed
// start; the target finds the socket once it appears.
func TestUnixTargetAppearsLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	l := newTestLogger(t, []config.LogTarget{{Address: path, Format: "raw"}}, Options{})
	l.Log(Info, "lost")
	waitFor(t, 5*time.Second, func() error {
		if n := l.Dropped(); n != 1 {
			return fmt.Errorf("Dropped() = %d; want 1", n)
		}
		return nil
	})

	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	l.Log(Info, "found")
	if got := readDatagrams(t, srv, 1)[0]; got != "found" {
		t.Errorf("got %q; want %q", got, "found")
	}
}

// Close sends what is still queued before it returns.
func TestCloseFlushes(t *testing.T) {
	srv := listenUDP(t)
	l, err := New([]config.LogTarget{{Address: srv.LocalAddr().String(), Format: "raw"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		l.Log(Info, fmt.Sprintf("line %d", i))
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := readDatagrams(t, srv, n)
	for i, g := range got {
		if want := fmt.Sprintf("line %d", i); g != want {
			t.Errorf("datagram %d: got %q; want %q", i, g, want)
		}
	}
	if d := l.Dropped(); d != 0 {
		t.Errorf("Dropped() = %d; want 0", d)
	}
}

// When a target cannot drain, Log neither blocks nor grows memory: lines
// beyond the queue are dropped and counted. Close then gives up within
// about a second and counts what was left.
func TestFullQueueDrops(t *testing.T) {
	stuck := make(chan net.Conn, 1)
	opts := Options{
		QueueLen: 2,
		// A pipe nobody reads: every write blocks until its deadline.
		dial: func(network, address string) (net.Conn, error) {
			c, peer := net.Pipe()
			t.Cleanup(func() { peer.Close() })
			select {
			case stuck <- c:
			default:
			}
			return c, nil
		},
	}
	l, err := New([]config.LogTarget{{Address: "127.0.0.1:9", Format: "raw"}}, opts)
	if err != nil {
		t.Fatal(err)
	}

	const n = 10
	for i := range n {
		l.Log(Info, fmt.Sprintf("line %d", i))
	}
	<-stuck // sendLoop holds one line in a blocked write
	// One line is in the write, two are queued: at least 7 are dropped
	// (8 if all ten came before sendLoop took the first).
	waitFor(t, 5*time.Second, func() error {
		if d := l.Dropped(); d < n-3 {
			return fmt.Errorf("Dropped() = %d; want >= %d", d, n-3)
		}
		return nil
	})

	start := time.Now()
	l.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %v; want about %v", took, flushTimeout)
	}
	if d := l.Dropped(); d != n {
		t.Errorf("after Close, Dropped() = %d; want %d (nothing could be sent)", d, n)
	}
}

// A nil or zero Logger logs nothing and never panics, so code without
// `log` lines needs no checks.
func TestNilLogger(t *testing.T) {
	t.Run("nil pointer", func(t *testing.T) {
		var l *Logger
		l.Log(Emerg, "x")
		if d := l.Dropped(); d != 0 {
			t.Errorf("Dropped() = %d; want 0", d)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close() = %v; want nil", err)
		}
	})
	t.Run("zero value", func(t *testing.T) {
		var l Logger
		l.Log(Emerg, "x")
		l.Close()
	})
	t.Run("no targets", func(t *testing.T) {
		l, err := New(nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		l.Log(Emerg, "x")
		l.Close()
		l.Close() // idempotent
	})
}

func TestLogAfterCloseDoesNothing(t *testing.T) {
	var out lockedBuffer
	l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: "raw"}}, Options{Stdout: &out})
	l.Log(Info, "before")
	l.Close()
	l.Log(Info, "after")
	if got, want := out.String(), "before\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// Concurrent callers never interleave within a line on stdout.
func TestConcurrentStdoutLines(t *testing.T) {
	var out lockedBuffer
	l := newTestLogger(t, []config.LogTarget{
		{Address: "stdout", Format: "raw"},
		{Address: "stdout", Format: "short"},
	}, Options{Stdout: &out})
	const writers, lines = 8, 100
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range lines {
				l.Log(Info, fmt.Sprintf("writer %d line %d", w, i))
			}
		}()
	}
	for range writers {
		<-done
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != 2*writers*lines {
		t.Fatalf("got %d lines; want %d", len(got), 2*writers*lines)
	}
	for _, line := range got {
		var w, i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(line, "<6>"), "writer %d line %d", &w, &i); err != nil {
			t.Fatalf("mangled line %q: %v", line, err)
		}
	}
}

// A bad `log` line is refused with the address and the faulty value, and
// with file:line when the config says where it was.
func TestNewErrors(t *testing.T) {
	tests := []struct {
		desc   string
		target config.LogTarget
		want   string
	}{
		{"unknown format", config.LogTarget{Address: "stdout", Format: "json"},
			`log target "stdout": unknown log format "json"`},
		{"unknown facility", config.LogTarget{Address: "stdout", Facility: "local8"},
			`log target "stdout": unknown log facility "local8"`},
		{"unknown level", config.LogTarget{Address: "stdout", Level: "verbose"},
			`log target "stdout": unknown log level "verbose"`},
		{"unknown minlevel", config.LogTarget{Address: "stdout", MinLevel: "warn"},
			`log target "stdout": minimum level: unknown log level "warn"`},
		{"negative len", config.LogTarget{Address: "stdout", Len: -1},
			`log target "stdout": invalid log length -1`},
		{"tcp target", config.LogTarget{Address: "tcp@127.0.0.1:514"},
			`log target "tcp@127.0.0.1:514": unsupported address family "tcp@"`},
		{"ring target", config.LogTarget{Address: "ring@buf1"},
			`log target "ring@buf1": unsupported address family "ring@"`},
		{"other fd", config.LogTarget{Address: "fd@3"},
			`log target "fd@3": only fd@1 (stdout) and fd@2 (stderr) are supported`},
		{"empty address", config.LogTarget{Address: ""},
			`log target "": empty address`},
		{"IPv4 for udp6", config.LogTarget{Address: "udp6@127.0.0.1:514"},
			`log target "udp6@127.0.0.1:514": `},
		{"bad port", config.LogTarget{Address: "127.0.0.1:syslogx"},
			`log target "127.0.0.1:syslogx": `},
		{"position", config.LogTarget{Pos: config.Pos{File: "pivot.cfg", Line: 7}, Address: "stdout", Format: "json"},
			`pivot.cfg:7: log target "stdout": unknown log format "json"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			l, err := New([]config.LogTarget{{Address: "127.0.0.1"}, tt.target}, Options{})
			if err == nil {
				l.Close()
				t.Fatalf("New succeeded; want error starting %q", tt.want)
			}
			if l != nil {
				t.Errorf("New returned a Logger with its error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got error %q; want it to start with %q", err, tt.want)
			}
		})
	}
}

// Addresses are read as HAProxy reads them; no port means 514.
func TestParseTarget(t *testing.T) {
	tests := []struct {
		addr                  string
		out, network, address string
	}{
		{"stdout", "stdout", "", ""},
		{"fd@1", "stdout", "", ""},
		{"stderr", "stderr", "", ""},
		{"fd@2", "stderr", "", ""},
		{"/dev/log", "", "unixgram", "/dev/log"},
		{"unix@/run/log.sock", "", "unixgram", "/run/log.sock"},
		{"127.0.0.1", "", "udp", "127.0.0.1:514"},
		{"127.0.0.1:1514", "", "udp", "127.0.0.1:1514"},
		{"127.0.0.1:", "", "udp", "127.0.0.1:514"},
		{"udp@10.0.0.1:1514", "", "udp", "10.0.0.1:1514"},
		{"udp4@10.0.0.1", "", "udp4", "10.0.0.1:514"},
		{"ipv4@10.0.0.1", "", "udp4", "10.0.0.1:514"},
		{"udp6@[::1]:1514", "", "udp6", "[::1]:1514"},
		{"udp6@::1", "", "udp6", "[::1]:514"},
		{"ipv6@[::1]", "", "udp6", "[::1]:514"},
		{"::1", "", "udp", "[::1]:514"},
		{"[2001:db8::5]:601", "", "udp", "[2001:db8::5]:601"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			out, network, address, err := parseTarget(tt.addr)
			if err != nil {
				t.Fatalf("parseTarget(%q): %v", tt.addr, err)
			}
			if out != tt.out || network != tt.network || address != tt.address {
				t.Errorf("parseTarget(%q) = %q, %q, %q; want %q, %q, %q",
					tt.addr, out, network, address, tt.out, tt.network, tt.address)
			}
		})
	}
}

// A failing stdout write is counted, not returned: logging never fails
// the session that logs.
func TestStdoutWriteErrorCounted(t *testing.T) {
	l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: "raw"}}, Options{Stdout: failingWriter{}})
	l.Log(Info, "x")
	if d := l.Dropped(); d != 1 {
		t.Errorf("Dropped() = %d; want 1", d)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
