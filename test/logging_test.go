package test

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// Session and state-change logs: option tcplog on stdout, stderr and
// syslog over UDP, in HAProxy's formats.

// tcplogDate is the accept date of a tcplog line.
const tcplogDate = `\[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`

func TestLogTCPLogStdout(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr}
	p := startPivot(t, baseDefaults+`
    log stdout format raw local0
    option tcplog
frontend fe
    bind $fe
    default_backend be
backend be
    server s1 $s1
`, v)
	// The greeting "s1\n" (3 bytes) and an echo of 10: 13 from server to client.
	_, port := oneSession(t, v["fe"], "0123456789")
	line := waitLine(t, p.Stdout, 3*time.Second, fmt.Sprintf(`^127\.0\.0\.1:%d `, port))
	want := fmt.Sprintf(`^127\.0\.0\.1:%d %s fe be/s1 \d+/\d+/\d+ 13 -- \d+/\d+/\d+/\d+/0 0/0$`, port, tcplogDate)
	if !matches(want, line) {
		t.Errorf("log line\n %q\nwant it to match\n %q", line, want)
	}
}

func TestLogNoServer(t *testing.T) {
	t.Parallel()
	v := vars{"fe": freeAddr(t), "s1": deadAddr(t)}
	p := startPivot(t, baseDefaults+`
    log stdout format raw local0
    option tcplog
frontend fe
    bind $fe
    default_backend be
backend be
    server s1 $s1 disabled
`, v)
	c := dial(t, v["fe"])
	c.expectEOF(3 * time.Second)
	line := waitLine(t, p.Stdout, 3*time.Second, fmt.Sprintf(`^127\.0\.0\.1:%d `, c.localPort()))
	want := fmt.Sprintf(`^127\.0\.0\.1:%d %s fe be/<NOSRV> -1/-1/\d+ 0 SC \d+/\d+/\d+/\d+/0 0/0$`, c.localPort(), tcplogDate)
	if !matches(want, line) {
		t.Errorf("log line\n %q\nwant it to match\n %q", line, want)
	}
}

func TestLogDontLogNull(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc     string
		opt      string
		wantNull bool
	}{
		{desc: "option dontlognull", opt: "option dontlognull"},
		{desc: "default logs null sessions", wantNull: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			silent := startBackendFunc(t, "silent", silentHandler)
			v := vars{"fe": freeAddr(t), "s1": silent.Addr, "opt": tc.opt}
			p := startPivot(t, baseDefaults+`
    log stdout format raw local0
    option tcplog
    $opt
listen app
    bind $fe
    server s1 $s1
`, v)
			// A connection that carries no byte either way.
			null := dial(t, v["fe"])
			waitActive(t, silent, 1)
			nullPort := null.localPort()
			null.close()
			waitActive(t, silent, 0)
			// Then one that sends data: it is always logged.
			data := dial(t, v["fe"])
			data.conn.Write([]byte("hello"))
			waitFor(t, 3*time.Second, func() error {
				if n := silent.received.Load(); n != 5 {
					return fmt.Errorf("the server received %d bytes; want 5", n)
				}
				return nil
			})
			dataPort := data.localPort()
			data.close()
			waitLine(t, p.Stdout, 3*time.Second, fmt.Sprintf(`^127\.0\.0\.1:%d %s app app/s1 \d+/\d+/\d+ 0 `, dataPort, tcplogDate))
			nullLines := matchingLines(p.Stdout, fmt.Sprintf(`^127\.0\.0\.1:%d `, nullPort))
			if tc.wantNull && len(nullLines) != 1 {
				t.Errorf("got %d log lines for the null session; want 1\nstdout:\n%s", len(nullLines), p.Stdout)
			}
			if !tc.wantNull && len(nullLines) != 0 {
				t.Errorf("null session logged: %q; want nothing with dontlognull", nullLines)
			}
		})
	}
}

// udpSink collects the datagrams sent to a UDP socket on 127.0.0.1.
type udpSink struct {
	Addr string
	buf  syncBuffer // one datagram per line
}

func startUDPSink(t *testing.T) *udpSink {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &udpSink{Addr: pc.LocalAddr().String()}
	go func() {
		b := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			s.buf.Write(append(b[:n:n], '\n'))
		}
	}()
	return s
}

func TestLogSyslogUDP(t *testing.T) {
	t.Parallel()
	sink := startUDPSink(t)
	s1 := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr, "s2": deadAddr(t), "syslog": sink.Addr}
	p := startPivot(t, baseDefaults+`
    log $syslog local0
    option tcplog
frontend fe
    bind $fe
    default_backend be
backend be
    server s1 $s1
    server s2 $s2 check inter 100ms
`, v)
	pid := strconv.Itoa(p.Pid())
	// HAProxy's default format: RFC 3164 without the host name.
	header := `^<%d>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+\[` + pid + `\]: `
	t.Run("state change at alert level", func(t *testing.T) {
		waitLine(t, &sink.buf, 3*time.Second, fmt.Sprintf(header, 129)+regexp.QuoteMeta(`Server be/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: `)+`\d+ms\. 1 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.$`)
	})
	t.Run("tcplog at info level", func(t *testing.T) {
		waitServes(t, v["fe"], "s1", 3*time.Second)
		_, port := oneSession(t, v["fe"], "0123456789")
		line := waitLine(t, &sink.buf, 3*time.Second, fmt.Sprintf(`127\.0\.0\.1:%d \[`, port))
		want := fmt.Sprintf(header, 134) + fmt.Sprintf(`127\.0\.0\.1:%d %s fe be/s1 \d+/\d+/\d+ 13 -- \d+/\d+/\d+/\d+/0 0/0$`, port, tcplogDate)
		if !matches(want, line) {
			t.Errorf("datagram\n %q\nwant it to match\n %q", line, want)
		}
	})
}

func TestLogStderrRFC5424(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "s1": s1.Addr}
	p := startPivot(t, baseDefaults+`
    log stderr format rfc5424 local0
    option tcplog
listen app
    bind $fe
    server s1 $s1
`, v)
	_, port := oneSession(t, v["fe"])
	line := waitLine(t, p.Stderr, 3*time.Second, fmt.Sprintf(`127\.0\.0\.1:%d \[`, port))
	want := `^<134>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}([+-]\d\d:\d\d|Z) \S+ \S+ ` + strconv.Itoa(p.Pid()) + ` - - ` +
		fmt.Sprintf(`127\.0\.0\.1:%d %s app app/s1 \d+/\d+/\d+ 3 -- `, port, tcplogDate)
	if !matches(want, line) {
		t.Errorf("stderr line\n %q\nwant it to match\n %q", line, want)
	}
}
